/* Applicant portal, progressive enhancement only (every page works without it):
   - live totals of the CERFA budget table, balance and share of the cost requested;
   - a submission button that cannot be clicked twice;
   - a print button on the acknowledgement. */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "fr";
  var money = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR",
                                    { style: "currency", currency: "EUR" });
  var percent = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR",
                                      { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var texts = lang === "en" ? {
    balanced: "The budget is balanced: expenses = income.",
    empty: "The budget has no expense yet.",
    gap: "The budget is not balanced: a difference of {amount} between income and expenses."
  } : {
    balanced: "Le budget est équilibré : charges = produits.",
    empty: "Le budget ne comporte encore aucune charge.",
    gap: "Le budget n'est pas équilibré : écart de {amount} entre produits et charges."
  };

  /* "12 500,50 €" -> 1250050 cents; null when it is not an amount */
  function cents(text) {
    var cleaned = (text || "").replace(/[\s\u00a0\u202f€]/g, "").replace(",", ".");
    if (cleaned === "") { return 0; }
    if (!/^\d+(\.\d{1,2})?$/.test(cleaned)) { return null; }
    return Math.round(parseFloat(cleaned) * 100);
  }

  function budget(root) {
    var inputs = root.querySelectorAll("input[data-side]");
    var requested = document.querySelector("input[data-requested]");
    var maxShare = parseFloat(root.getAttribute("data-max-share") || "");
    var balance = document.querySelector("[data-balance]");
    var shareOut = document.querySelector("[data-share]");

    function update() {
      var totals = { charges: 0, products: 0 };
      inputs.forEach(function (input) {
        var value = cents(input.value);
        if (value !== null) { totals[input.getAttribute("data-side")] += value; }
      });
      Object.keys(totals).forEach(function (side) {
        var out = document.querySelector('[data-total="' + side + '"]');
        if (out) { out.textContent = money.format(totals[side] / 100); }
      });
      if (balance) {
        var ok = totals.charges > 0 && totals.charges === totals.products;
        balance.className = "balance " + (ok ? "balance-ok" : "balance-ko");
        balance.textContent = ok ? texts.balanced : totals.charges === 0 ? texts.empty
          : texts.gap.replace("{amount}", money.format((totals.products - totals.charges) / 100));
      }
      if (shareOut && requested) {
        var asked = cents(requested.value);
        if (asked && totals.charges > 0) {
          var share = asked / totals.charges;
          shareOut.textContent = percent.format(share * 100) + " %";
          shareOut.classList.toggle("share-exceeded", !isNaN(maxShare) && share > maxShare);
        } else {
          shareOut.textContent = "—";
        }
      }
    }

    root.addEventListener("input", update);
    if (requested) { requested.addEventListener("input", update); }
  }

  document.querySelectorAll("[data-budget]").forEach(budget);

  /* The server refuses a second submission anyway; this only spares the wait. */
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.hasAttribute("data-once")) { return; }
      if (form.getAttribute("data-sent") === "1") { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      window.setTimeout(function () {
        button.setAttribute("aria-disabled", "true");
        button.classList.add("is-busy");
      }, 0);
    });
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
}());
