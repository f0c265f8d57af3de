// evalkit comparison / trend page: hide the cards that do not contain the filter text.
// Reads text only (textContent); writes only the hidden flag and a count.
(function () {
  "use strict";
  var box = document.getElementById("q"), count = document.getElementById("count");
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
  var texts = cards.map(function (card) { return card.textContent.toLowerCase(); });
  function apply() {
    var q = box.value.trim().toLowerCase(), shown = 0;
    cards.forEach(function (card, i) {
      card.hidden = q !== "" && texts[i].indexOf(q) < 0;
      if (!card.hidden) shown++;
    });
    count.textContent = q ? shown + " of " + cards.length + " match" : "";
  }
  box.addEventListener("input", apply);
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  document.body.dataset.ready = "true";
})();
