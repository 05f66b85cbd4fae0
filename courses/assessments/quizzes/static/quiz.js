/* Save each answer as the trainee goes, count down the time, confirm submitting.
   The form works without this file: "Save answers" and "Submit attempt" post it whole. */
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.dataset.saveUrl;
  var token = form.querySelector('input[name="csrf_token"]').value;
  var pending = {};

  function save(fieldset) {
    var id = fieldset.dataset.question;
    var data = new FormData();
    data.append("csrf_token", token);
    data.append("question", id);
    fieldset.querySelectorAll("input").forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) {
        return;
      }
      data.append(input.name, input.value);
    });
    var status = fieldset.querySelector("[data-role=status]");
    var warning = fieldset.querySelector("[data-role=warning]");
    status.textContent = form.dataset.savingText;
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        if (result.ok) {
          status.textContent = result.body.message;
          warning.textContent = result.body.warning || "";
        } else if (result.body.closed) {
          window.location.assign(result.body.review);
        } else {
          status.textContent = "";
          warning.textContent = result.body.message;
        }
      })
      .catch(function () {
        status.textContent = form.dataset.offlineText;
      });
  }

  form.querySelectorAll("fieldset[data-question]").forEach(function (fieldset) {
    var id = fieldset.dataset.question;
    fieldset.addEventListener("change", function () {
      clearTimeout(pending[id]);
      save(fieldset);
    });
    fieldset.addEventListener("input", function (event) {
      if (event.target.type !== "text") {
        return;
      }
      clearTimeout(pending[id]);
      pending[id] = setTimeout(function () {
        save(fieldset);
      }, 800);
    });
  });

  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (form.dataset.timeUp || !button || !button.dataset.confirm) {
      return;
    }
    if (!window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  var timer = document.getElementById("quiz-timer");
  if (timer) {
    var clock = timer.querySelector("[data-role=clock]");
    var deadline = Date.now() + parseInt(timer.dataset.remaining, 10) * 1000;
    var handle = null;
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      clock.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) {
        clearInterval(handle);
        // The server grades at the deadline anyway; submitting now just shows the result.
        form.dataset.timeUp = "1";
        var submit = form.querySelector('button[value="submit"]');
        if (form.requestSubmit) {
          form.requestSubmit(submit);
        } else {
          submit.click();
        }
      }
    };
    handle = setInterval(tick, 1000);
    tick();
  }
})();
