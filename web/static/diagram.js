/* Draws the BPMN diagram of a [data-bpmn-url] element with the vendored bpmn-js viewer and marks elements:
   data-completed (passed) and data-current (waiting now), JSON lists of element ids. The URL answers BPMN XML,
   or JSON with an `xml` member. Sets data-rendered="true" (or data-error) when done, for people and tests. */
(function () {
  "use strict";

  function ids(el, name) {
    try { return JSON.parse(el.getAttribute(name) || "[]"); } catch (e) { return []; }
  }

  function mark(viewer, list, css) {
    var registry = viewer.get("elementRegistry");
    var canvas = viewer.get("canvas");
    list.forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, css); }
    });
  }

  function draw(el) {
    var status = el.querySelector(".bpmn-diagram-status");
    var url = el.getAttribute("data-bpmn-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json, application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
        return json ? response.json().then(function (data) { return data.xml; }) : response.text();
      })
      .then(function (xml) {
        if (status) { status.remove(); }
        var viewer = new window.BpmnJS({ container: el });
        return viewer.importXML(xml).then(function () {
          viewer.get("canvas").zoom("fit-viewport", "auto");
          mark(viewer, ids(el, "data-completed"), "flow-completed");
          mark(viewer, ids(el, "data-current"), "flow-current");
          el.setAttribute("data-rendered", "true");
        });
      })
      .catch(function (error) {
        el.setAttribute("data-error", String(error && error.message || error));
        if (status) { status.textContent = String(error && error.message || error); }
      });
  }

  function start() {
    if (!window.BpmnJS) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-bpmn-url]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
