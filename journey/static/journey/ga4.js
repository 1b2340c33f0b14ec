/* journey GA4: select_item when a shopper clicks a product of a list pushed by {% journey_ga4_view_item_list %}. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || !window.journeyGa4Lists || typeof window.gtag !== "function") { return; }
    var path = new URL(link.href, location.href).pathname;
    window.journeyGa4Lists.some(function (list) {
      var index = list.urls[path];
      if (index === undefined) { return false; }
      var item = list.payload.items[index];
      window.gtag("event", "select_item", {
        item_list_id: list.payload.item_list_id, item_list_name: list.payload.item_list_name, items: [item]
      });
      return true;
    });
  }, true);
})();
