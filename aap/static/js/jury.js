/* The scoring grid's live total (an enhancement: the server computes the total on save).
   Same formula as aap.services.scoring.weighted_total: sum(weight x score) divided by
   sum(weight x max), times the call's scale. */
(function () {
  "use strict";
  var form = document.querySelector("form.review-form[data-scale]");
  var output = document.getElementById("live-total");
  var note = document.getElementById("total-note");
  if (!form || !output) { return; }
  var scale = parseFloat(form.getAttribute("data-scale"));
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input[data-weight]"));
  var lang = document.documentElement.lang || "fr";

  function parse(text) {
    var clean = text.replace(/[\s\u202f\u00a0]/g, "").replace(",", ".");
    if (clean === "") { return null; }
    if (!/^\d+(\.\d+)?$/.test(clean)) { return NaN; }
    return parseFloat(clean);
  }

  function update() {
    var raw = 0, best = 0, filled = 0, invalid = false;
    inputs.forEach(function (input) {
      var weight = parseFloat(input.getAttribute("data-weight"));
      var max = parseFloat(input.getAttribute("data-max"));
      var value = parse(input.value);
      best += weight * max;
      if (value === null) { return; }
      if (isNaN(value) || value < 0 || value > max) { invalid = true; return; }
      raw += weight * value;
      filled += 1;
    });
    if (invalid || !filled || !best) {
      output.textContent = "—";
      if (note) { note.textContent = note.getAttribute("data-invalid") || ""; }
      return;
    }
    var total = Math.round(raw / best * scale * 100) / 100;
    output.textContent = total.toLocaleString(lang, { maximumFractionDigits: 2 });
    if (note) {
      note.textContent = filled < inputs.length ? note.getAttribute("data-partial") || ""
        : note.getAttribute("data-live") || "";
    }
  }

  inputs.forEach(function (input) { input.addEventListener("input", update); });
})();
