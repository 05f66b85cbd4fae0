// Poll the bulk issuance job's JSON every two seconds and update the page until it stops.
(function () {
  "use strict";
  var root = document.getElementById("bulk-progress");
  if (!root) { return; }
  var url = root.getAttribute("data-url");
  function part(name) { return root.querySelector('[data-bulk="' + name + '"]'); }
  var stateNode = part("state");
  var labels = {};
  try { labels = JSON.parse(stateNode.getAttribute("data-labels")); } catch (e) { labels = {}; }
  function show(data) {
    ["done", "total", "issued", "skipped"].forEach(function (name) {
      part(name).textContent = String(data[name]);
    });
    stateNode.textContent = labels[data.state] || data.state;
    part("bar").style.width = data.percent + "%";
    root.querySelector('[role="progressbar"]').setAttribute("aria-valuenow", String(data.percent));
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        show(data);
        if (data.state === "running") {
          window.setTimeout(poll, 2000);
        } else {
          window.location.reload();  // shows the result and the resume button
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (root.getAttribute("data-state") === "running") { window.setTimeout(poll, 1000); }
})();
