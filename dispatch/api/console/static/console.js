// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // A form that changes something shows it is busy and cannot be sent twice.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.setAttribute("aria-busy", "true");
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });

  // The plan page polls while the solver runs, then reloads to show routes and the map.
  var state = document.getElementById("plan-state");
  if (state && (state.dataset.status === "queued" || state.dataset.status === "running")) {
    var bar = document.getElementById("plan-progress");
    var poll = function () {
      fetch(state.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          bar.value = body.progress;
          bar.textContent = body.progress + "%";
          if (body.status === "queued" || body.status === "running") {
            window.setTimeout(poll, 1000);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }

  // Evidence photos: full size in a dialog on click (the link opens the image without JS).
  var dialog = document.getElementById("photo-dialog");
  if (dialog && dialog.showModal) {
    var full = document.getElementById("photo-full");
    document.querySelectorAll("a[data-full]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        full.src = link.href;
        full.alt = link.querySelector("img").alt;
        dialog.showModal();
      });
    });
  }
})();
