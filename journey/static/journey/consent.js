/* journey consent banner: save the choice without leaving the page and start what it allows at once.
   Without JavaScript the banner's form posts normally and the page reloads with the choice applied. */
(function () {
  "use strict";
  var banner = document.getElementById("journey-consent");
  if (!banner) { return; }
  var form = banner.querySelector("form");
  var details = banner.querySelector("[data-journey-consent-details]");

  // At the top of the page, in the flow: the bar pushes the page down and never lies on top of it (a basket's lines
  // or its checkout button stay uncovered). Without JavaScript it stays a bar fixed at the bottom (consent.css).
  document.body.insertBefore(banner, document.body.firstChild);
  banner.classList.add("journey-consent--inline");

  function open() {
    // Opened again from "Cookie settings": the details, with the current choice ticked.
    banner.hidden = false;
    if (details) { details.open = true; }
    banner.scrollIntoView({block: "start"});
    var first = banner.querySelector("input:not([disabled]), button");
    if (first) { first.focus({preventScroll: true}); }
  }

  function close() {
    banner.hidden = true;
  }

  function inject(html) {
    if (!html) { return; }
    var template = document.createElement("template");
    template.innerHTML = html;
    template.content.querySelectorAll("script").forEach(function (old) {
      var name = old.getAttribute("data-journey-snippet");
      if (name && document.querySelector('script[data-journey-snippet="' + name + '"]')) { return; }
      var script = document.createElement("script");
      Array.prototype.forEach.call(old.attributes, function (attr) { script.setAttribute(attr.name, attr.value); });
      script.text = old.text;
      document.head.appendChild(script);
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-journey-consent-open]");
    if (link) { event.preventDefault(); open(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !banner.hidden && banner.getAttribute("data-decided") === "1") { close(); }
  });

  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) { return; }
    event.preventDefault();
    var data = new FormData(form);
    var submitter = event.submitter;
    data.set("action", submitter && submitter.name === "action" ? submitter.value : "save");
    // form.action would be the buttons named "action": read the attribute.
    fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}
    }).then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    }).then(function (result) {
      window.dataLayer = window.dataLayer || [];
      if (typeof window.gtag !== "function") { window.gtag = function () { window.dataLayer.push(arguments); }; }
      window.gtag("consent", "update", result.gtag);
      ["analytics", "marketing"].forEach(function (key) {
        var box = form.querySelector('input[name="' + key + '"]');
        if (box) { box.checked = !!result.consent[key]; }
      });
      banner.setAttribute("data-decided", "1");
      close();
      inject(result.snippets);
      document.dispatchEvent(new CustomEvent("journey:consent", {detail: result.consent}));
    }).catch(function () {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "action"; hidden.value = data.get("action");
      form.appendChild(hidden);
      form.submit();
    });
  });
})();
