// Behaviour of the shared layout, kept out of the HTML so the Content-Security-Policy
// can forbid inline scripts.
"use strict";

// A <select data-autosubmit> sends its form when changed (the language menu);
// without JavaScript, the form's own button does the same.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.submit();
  }
});

// A <form data-confirm="question"> asks before it is sent.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A table that scrolls sideways in its own box can be scrolled with the keyboard:
// the box takes the focus and names what it holds (WCAG 2.1.1).
function markScrollingTables() {
  document.querySelectorAll(".table-responsive").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role")) {
        box.setAttribute("role", "region");
      }
      var caption = box.querySelector("caption");
      var heading = box.getAttribute("aria-label") || (caption && caption.textContent.trim()) || document.title;
      box.setAttribute("aria-label", heading);
    } else if (box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
    }
  });
}
document.addEventListener("DOMContentLoaded", markScrollingTables);
window.addEventListener("resize", markScrollingTables);
