// batchscore console: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // The server shows times in the viewer's zone, which only the browser knows: keep it in a
  // cookie (read on the next request; the sign-in page sets it before the first page).
  function rememberZone() {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (/^[A-Za-z0-9_\/+\-]{1,64}$/.test(zone) && document.body.getAttribute("data-zone") !== zone) {
      document.cookie = "batchscore_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  }

  // "3 min ago" for <time data-relative>; the absolute time stays in its title.
  function relative(seconds) {
    var ago = seconds >= 0;
    var s = Math.abs(Math.round(seconds));
    var text;
    if (s < 60) { text = s + " s"; }
    else if (s < 3600) { text = Math.floor(s / 60) + " min"; }
    else if (s < 172800) { text = Math.floor(s / 3600) + " h"; }
    else { text = Math.floor(s / 86400) + " d"; }
    return ago ? text + " ago" : "in " + text;
  }

  function updateRelative(root) {
    var now = Date.now();
    (root || document).querySelectorAll("time[data-relative]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.textContent = relative((now - at) / 1000); }
    });
  }

  // The create-job form shows the fields of the chosen frequency only.
  function syncFrequency(form) {
    var checked = form.querySelector("input[name=frequency]:checked");
    var chosen = checked ? checked.value : "periodic";
    form.querySelectorAll("[data-frequency]").forEach(function (section) {
      section.hidden = section.getAttribute("data-frequency") !== chosen;
    });
  }

  // A field is invalid while its error slot (refilled by the live previews) says something.
  function syncInvalid() {
    document.querySelectorAll("[data-errors-for]").forEach(function (slot) {
      var field = document.getElementById(slot.getAttribute("data-errors-for"));
      if (!field) { return; }
      if (slot.textContent.trim()) { field.setAttribute("aria-invalid", "true"); }
      else { field.removeAttribute("aria-invalid"); }
    });
  }

  // Tooltips shown on hover or focus close on Escape (WCAG 1.4.13) until the pointer or the
  // focus leaves their trigger.
  function dismissTips(event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll(".has-tip").forEach(function (trigger) {
      if (trigger.matches(":hover, :focus")) { trigger.setAttribute("data-dismissed", ""); }
    });
  }

  function restoreTip(event) {
    var trigger = event.target && event.target.closest ? event.target.closest(".has-tip") : null;
    if (trigger) { trigger.removeAttribute("data-dismissed"); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    rememberZone();
    updateRelative(document);
    setInterval(function () { updateRelative(document); }, 15000);
    document.addEventListener("keydown", dismissTips);
    document.addEventListener("focusout", restoreTip);
    document.addEventListener("mouseout", restoreTip);
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

  document.addEventListener("htmx:afterSettle", function (event) {
    updateRelative(event.target);
    syncInvalid();
  });

  // Rows appended to the inference table are announced, since focus stays on "Load more".
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "more-rows") {
      var status = document.getElementById("rows-status");
      var before = document.querySelectorAll("#inference-rows tr:not(#more-rows)").length;
      document.addEventListener("htmx:afterSettle", function once() {
        document.removeEventListener("htmx:afterSettle", once);
        var after = document.querySelectorAll("#inference-rows tr:not(#more-rows)").length;
        if (status) { status.textContent = (after - before) + " more records shown, " + after + " in all."; }
      });
    }
  });
})();
