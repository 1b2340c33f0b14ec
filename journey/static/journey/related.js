/* Records clicks on journey's related-product lists (list kind, position) with a beacon: no page change, no
   tracking parameter in product URLs.  One listener per list; nothing is sent until a product link is clicked. */
(function () {
  "use strict";
  function send(list, item) {
    var data = new FormData();
    data.append("kind", list.getAttribute("data-journey-list"));
    data.append("anchor", list.getAttribute("data-journey-anchor") || "");
    data.append("product", item.getAttribute("data-journey-product"));
    data.append("position", item.getAttribute("data-journey-position"));
    data.append("source", item.getAttribute("data-journey-source") || "");
    var url = list.getAttribute("data-journey-click-url");
    if (navigator.sendBeacon) { navigator.sendBeacon(url, data); }
    else { fetch(url, { method: "POST", body: data, keepalive: true, credentials: "same-origin" }); }
  }
  function bind(list) {
    if (list.journeyBound) { return; }
    list.journeyBound = true;
    list.addEventListener("click", function (event) {
      var link = event.target.closest("a[href]");
      var item = event.target.closest("[data-journey-product]");
      if (link && item && list.contains(item) && !link.closest("form")) { send(list, item); }
    });
  }
  document.querySelectorAll("[data-journey-list]").forEach(bind);
})();
