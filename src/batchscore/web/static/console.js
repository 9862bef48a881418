// batchscore console: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // The create-job form shows the fields of the chosen frequency only.
  function syncFrequency(form) {
    var checked = form.querySelector("input[name=frequency]:checked");
    var chosen = checked ? checked.value : "periodic";
    form.querySelectorAll("[data-frequency]").forEach(function (section) {
      section.hidden = section.getAttribute("data-frequency") !== chosen;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("job-form");
    if (form) {
      syncFrequency(form);
      form.addEventListener("change", function (event) {
        if (event.target && event.target.name === "frequency") {
          syncFrequency(form);
        }
      });
    }
  });
})();
