/* Draws the BPMN diagram of a [data-bpmn-url] element with the vendored bpmn-js viewer and marks elements:
   data-completed (passed) and data-current (waiting now), JSON lists of element ids. The URL answers BPMN XML,
   or JSON with an `xml` member. Sets data-rendered="true" (or data-error) when done, for people and tests.
   An element's bpmn:documentation becomes its tooltip (an SVG <title>) and, for keyboards and screen readers, an
   entry of the list written after the diagram (the process's own documentation first). */
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

  function docText(businessObject) {
    var docs = businessObject && businessObject.documentation;
    if (!docs || !docs.length) { return ""; }
    return docs.map(function (doc) { return doc.text || ""; }).join("\n").trim();
  }

  function documentation(viewer, el) {
    var registry = viewer.get("elementRegistry");
    var root = viewer.get("canvas").getRootElement();
    var intro = docText(root && root.businessObject && (root.businessObject.processRef || root.businessObject));
    var items = [];
    registry.forEach(function (element) {
      if (element === root || element.type === "label") { return; }
      var text = docText(element.businessObject);
      if (!text) { return; }
      var gfx = registry.getGraphics(element);
      if (gfx) {
        var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = text;
        gfx.insertBefore(title, gfx.firstChild);
        gfx.setAttribute("data-documented", "true");
      }
      items.push({ id: element.id, name: element.businessObject.name || element.id, text: text });
    });
    if (!intro && !items.length) { return; }
    var box = document.createElement("section");
    box.className = "bpmn-docs";
    if (intro) {
      var p = document.createElement("p");
      p.textContent = intro;
      box.appendChild(p);
    }
    if (items.length) {
      var list = document.createElement("dl");
      items.forEach(function (item) {
        var dt = document.createElement("dt");
        dt.textContent = item.name;
        dt.setAttribute("data-element", item.id);
        var dd = document.createElement("dd");
        dd.textContent = item.text;
        list.appendChild(dt);
        list.appendChild(dd);
      });
      box.appendChild(list);
    }
    el.parentNode.insertBefore(box, el.nextSibling);
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
          documentation(viewer, el);
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
