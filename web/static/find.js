/* The filter builder of /find/<entity>: rows of [field] [operator] [value] under ALL/ANY, plus "has linked ..."
   conditions with their own rows. It reads and writes the JSON filter in the #filter-json textarea, which is what
   the form submits; a filter the rows cannot show (not, deeper nesting) stays editable as JSON. No dependencies. */
(function () {
  "use strict";
  var schemaNode = document.getElementById("find-schema");
  var root = document.getElementById("builder");
  var textarea = document.getElementById("filter-json");
  if (!schemaNode || !root || !textarea) { return; }
  var schema = JSON.parse(schemaNode.textContent);
  var errorsNode = document.getElementById("find-errors");
  var errors = errorsNode ? JSON.parse(errorsNode.textContent || "{}") : {};
  var W = schema.words;
  var LIST_OPS = ["in", "not_in", "has_any", "has_all"];
  var NO_VALUE = ["is_empty", "is_not_empty"];
  var DAYS = ["within_last_days", "older_than_days"];
  var state = null;
  var extra = {};  // keys of the filter the builder does not edit (sort)

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; }
      else if (key === "on") { Object.keys(attrs.on).forEach(function (ev) { node.addEventListener(ev, attrs.on[ev]); }); }
      else if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== false) { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  // Every control has an accessible name in the page's language; a row is a group named "Condition 2".
  var NAMES = {"cond-field": W.field, "cond-op": W.op, "cond-value": W.value, "cond-mode": W.mode,
    "cond-link": W.link, "cond-aggregate": W.aggregate, "cond-agg-field": W.field, "cond-order": W.order_by};

  function select(cls, options, chosen, onChange, multiple) {
    var node = el("select", {"class": cls, multiple: multiple ? "multiple" : null, "aria-label": NAMES[cls] || cls});
    options.forEach(function (o) {
      var selected = multiple ? (chosen || []).indexOf(o[0]) >= 0 : o[0] === chosen;
      node.appendChild(el("option", {value: o[0], selected: selected ? "selected" : null, text: o[1]}));
    });
    node.addEventListener("change", function () {
      onChange(multiple ? Array.prototype.filter.call(node.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }) : node.value);
    });
    return node;
  }

  function fieldOf(fields, name) {
    for (var i = 0; i < fields.length; i += 1) { if (fields[i].name === name) { return fields[i]; } }
    return null;
  }

  function linkIndex(entity, via) {
    for (var i = 0; i < schema.linked.length; i += 1) {
      if (schema.linked[i].entity === entity && schema.linked[i].via === via) { return i; }
    }
    return -1;
  }

  /* ---- JSON -> rows ---- */
  function rawValue(value) {
    if (value === undefined || value === null) { return ""; }
    if (Array.isArray(value)) { return value.map(String); }
    return String(value);
  }

  function fieldRow(fields, item) {
    if (!item || typeof item.field !== "string" || !fieldOf(fields, item.field) || item.descendants) { return null; }
    var keys = Object.keys(item).filter(function (k) { return ["field", "op", "value"].indexOf(k) < 0; });
    if (keys.length) { return null; }
    return {kind: "field", field: item.field, op: item.op || "eq", value: rawValue(item.value)};
  }

  function group(where, rowOf) {
    if (!where) { return {mode: "all", rows: []}; }
    var mode = where.all ? "all" : (where.any ? "any" : null);
    var items = mode ? where[mode] : [where];
    if (!Array.isArray(items)) { return null; }
    var rows = items.map(rowOf);
    if (rows.indexOf(null) >= 0) { return null; }
    return {mode: mode || "all", rows: rows};
  }

  function linkedRow(item) {
    var l = item.linked;
    if (!l || l.link_kind || !l.entity) { return null; }
    var index = linkIndex(l.entity, l.via);
    if (index < 0) { return null; }
    var fields = schema.linked[index].fields;
    var inner = group(l.where, function (x) { return fieldRow(fields, x); });
    if (!inner) { return null; }
    return {kind: "linked", link: index, aggregate: l.aggregate || "exists", field: l.field || "",
      order_by: l.order_by || "", op: l.op || "gte", value: rawValue(l.value), mode: inner.mode, rows: inner.rows};
  }

  function fromJson(text) {
    var data;
    try { data = text.trim() ? JSON.parse(text) : {}; } catch (e) { return null; }
    if (!data || typeof data !== "object" || Array.isArray(data)) { return null; }
    if (data.entity && data.entity !== schema.entity) { return null; }
    extra = {};
    Object.keys(data).forEach(function (k) { if (k !== "entity" && k !== "where") { extra[k] = data[k]; } });
    return group(data.where, function (item) {
      return item && item.linked ? linkedRow(item) : fieldRow(schema.fields, item);
    });
  }

  /* ---- rows -> JSON ---- */
  function scalar(type, raw) {
    if (type === "integer" || type === "reference" || type === "count") {
      return /^-?\d+$/.test(String(raw).trim()) ? parseInt(raw, 10) : raw;
    }
    if (type === "boolean") { return raw === "true" ? true : (raw === "false" ? false : raw); }
    return raw;
  }

  function operand(type, op, raw) {
    if (DAYS.indexOf(op) >= 0) { return scalar("integer", raw); }
    if (op === "between") {
      var pair = Array.isArray(raw) ? raw : [raw, ""];
      return [scalar(type, pair[0] || ""), scalar(type, pair[1] || "")];
    }
    if (LIST_OPS.indexOf(op) >= 0) {
      var list = Array.isArray(raw) ? raw : String(raw).split(",").map(function (s) { return s.trim(); })
        .filter(function (s) { return s !== ""; });
      return list.map(function (v) { return scalar(type, v); });
    }
    return scalar(type, Array.isArray(raw) ? (raw[0] || "") : raw);
  }

  function fieldJson(fields, row) {
    var field = fieldOf(fields, row.field);
    var out = {field: row.field, op: row.op};
    if (NO_VALUE.indexOf(row.op) < 0) { out.value = operand(field ? field.type : "string", row.op, row.value); }
    return out;
  }

  function comparedType(row) {
    if (row.aggregate === "count") { return "count"; }
    if (row.aggregate === "sum") { return "decimal"; }
    var field = fieldOf(schema.linked[row.link].fields, row.field);
    return field ? field.type : "string";
  }

  function linkedJson(row) {
    var link = schema.linked[row.link];
    var out = {entity: link.entity, via: link.via, aggregate: row.aggregate};
    if (row.rows.length) {
      var inner = row.rows.map(function (r) { return fieldJson(link.fields, r); });
      out.where = {};
      out.where[row.mode] = inner;
    }
    if (["sum", "min", "max", "last"].indexOf(row.aggregate) >= 0) { out.field = row.field; }
    if (row.aggregate === "last") { out.order_by = row.order_by; }
    if (["exists", "none"].indexOf(row.aggregate) < 0) {
      out.op = row.op;
      if (NO_VALUE.indexOf(row.op) < 0) { out.value = operand(comparedType(row), row.op, row.value); }
    }
    return {linked: out};
  }

  function toJson() {
    var data = {entity: schema.entity};
    if (state.rows.length) {
      data.where = {};
      data.where[state.mode] = state.rows.map(function (r) {
        return r.kind === "linked" ? linkedJson(r) : fieldJson(schema.fields, r);
      });
    }
    Object.keys(extra).forEach(function (k) { data[k] = extra[k]; });
    return data;
  }

  function sync() { textarea.value = JSON.stringify(toJson(), null, 2); }
  function changed() { sync(); render(); }

  /* ---- drawing ---- */
  function errorList(path, exclude) {
    var messages = [];
    Object.keys(errors).forEach(function (key) {
      var mine = key === path || key.indexOf(path + ".") === 0;
      if (mine && !(exclude && key.indexOf(exclude) === 0)) { messages = messages.concat(errors[key]); }
    });
    if (!messages.length) { return null; }
    return el("ul", {"class": "cond-errors error", role: "alert"}, messages.map(function (m) {
      return el("li", {text: m});
    }));
  }

  function valueInput(type, op, field, value, onChange) {
    if (NO_VALUE.indexOf(op) >= 0) { return null; }
    if (DAYS.indexOf(op) >= 0) {
      return el("span", {"class": "cond-days"}, [input("number", value, onChange, W.value_days),
        el("span", {text: W.days, "aria-hidden": "true"})]);
    }
    var options = (field && field.options) || [];
    if (options.length) {
      var multiple = LIST_OPS.indexOf(op) >= 0;
      var choices = options.map(function (o) { return [o.value, o.label]; });
      if (!multiple) { choices.unshift(["", "—"]); }
      return select("cond-value", choices, multiple ? (Array.isArray(value) ? value : [value]) : value, onChange,
        multiple);
    }
    if (type === "boolean") {
      return select("cond-value", [["true", "✓"], ["false", "✗"]], value || "true", onChange, false);
    }
    var kind = {integer: "number", count: "number", reference: "number", date: "date", datetime: "datetime-local",
      timestamp: "datetime-local"}[type] || "text";
    if (LIST_OPS.indexOf(op) >= 0) { kind = "text"; }
    if (op === "between") {
      var pair = Array.isArray(value) ? value.slice() : [value || "", ""];
      return el("span", {"class": "cond-between"}, [
        input(kind, pair[0], function (v) { pair[0] = v; onChange(pair.slice()); }, W.value_from),
        el("span", {text: W.and}),
        input(kind, pair[1], function (v) { pair[1] = v; onChange(pair.slice()); }, W.value_to)]);
    }
    var box = input(kind, Array.isArray(value) ? value.join(", ") : value, onChange);
    if (LIST_OPS.indexOf(op) >= 0) { box.setAttribute("placeholder", W.values_hint); }
    return box;
  }

  function input(kind, value, onChange, name) {
    var node = el("input", {type: kind, "class": "cond-value", value: value || "", "aria-label": name || W.value,
      step: kind === "number" ? "1" : null});
    node.addEventListener("change", function () { onChange(node.value); });
    node.addEventListener("input", function () { onChange(node.value); });
    return node;
  }

  function conditionName(path) {  // "where.all[1]" -> "Condition 2"; "where.all[0].linked.where.any[2]" -> "… 1.3"
    var numbers = (path.match(/\[(\d+)\]/g) || []).map(function (n) { return parseInt(n.slice(1, -1), 10) + 1; });
    return W.condition + " " + numbers.join(".");
  }

  function fieldRowNode(fields, row, path, onRemove) {
    var field = fieldOf(fields, row.field) || fields[0];
    var ops = field.ops.map(function (op) { return [op, schema.ops[op] || op]; });
    if (field.ops.indexOf(row.op) < 0) { row.op = field.ops[0]; }
    return el("div", {"class": "cond", "data-path": path, role: "group", "aria-label": conditionName(path)}, [
      select("cond-field", fields.map(function (f) { return [f.name, f.label]; }), row.field, function (v) {
        row.field = v; row.value = ""; changed();
      }),
      select("cond-op", ops, row.op, function (v) { row.op = v; row.value = ""; changed(); }),
      valueInput(field.type, row.op, field, row.value, function (v) { row.value = v; sync(); }),
      el("button", {type: "button", "class": "small remove", title: W.remove, text: "×",
        "aria-label": W.remove + ": " + conditionName(path), on: {click: function () { onRemove(); changed(); }}}),
      errorList(path)]);
  }

  function modeSelect(owner) {
    return select("cond-mode", [["all", W.all], ["any", W.any]], owner.mode, function (v) {
      owner.mode = v; changed();
    });
  }

  function linkedRowNode(row, path, onRemove) {
    var link = schema.linked[row.link];
    var aggregates = Object.keys(schema.aggregates).map(function (a) { return [a, schema.aggregates[a]]; });
    var parts = [
      el("span", {"class": "cond-label", text: W.linked}),
      select("cond-link", schema.linked.map(function (l, i) { return [String(i), l.label]; }), String(row.link),
        function (v) { row.link = parseInt(v, 10); row.rows = []; row.field = ""; row.order_by = ""; changed(); }),
      select("cond-aggregate", aggregates, row.aggregate, function (v) { row.aggregate = v; changed(); })];
    var numeric = link.fields.filter(function (f) { return ["integer", "decimal", "money"].indexOf(f.type) >= 0; });
    if (["sum", "min", "max", "last"].indexOf(row.aggregate) >= 0) {
      var choices = row.aggregate === "sum" ? numeric : (row.aggregate === "last" ? link.fields : link.fields.filter(
        function (f) { return ["integer", "decimal", "money", "date", "datetime", "timestamp"].indexOf(f.type) >= 0; }));
      if (!fieldOf(choices, row.field) && choices.length) { row.field = choices[0].name; }
      parts.push(select("cond-agg-field", choices.map(function (f) { return [f.name, f.label]; }), row.field,
        function (v) { row.field = v; row.value = ""; changed(); }));
    }
    if (row.aggregate === "last") {
      if (!fieldOf(link.fields, row.order_by)) { row.order_by = "created_at"; }
      parts.push(el("span", {"class": "cond-label", text: W.order_by}));
      parts.push(select("cond-order", link.fields.map(function (f) { return [f.name, f.label]; }), row.order_by,
        function (v) { row.order_by = v; changed(); }));
    }
    if (["exists", "none"].indexOf(row.aggregate) < 0) {
      var type = comparedType(row);
      var compared = row.aggregate === "last" ? fieldOf(link.fields, row.field) : null;
      var ops = ["eq", "ne", "gt", "gte", "lt", "lte", "between"];
      if (compared) { ops = compared.ops.filter(function (o) { return NO_VALUE.indexOf(o) < 0; }); }
      if (ops.indexOf(row.op) < 0) { row.op = ops[0]; }
      parts.push(select("cond-op", ops.map(function (o) { return [o, schema.ops[o] || o]; }), row.op, function (v) {
        row.op = v; row.value = ""; changed();
      }));
      parts.push(valueInput(type, row.op, compared, row.value, function (v) { row.value = v; sync(); }));
    }
    parts.push(el("button", {type: "button", "class": "small remove", title: W.remove, text: "×",
      "aria-label": W.remove + ": " + conditionName(path), on: {click: function () { onRemove(); changed(); }}}));
    var innerPath = path + ".linked.where";
    var inner = el("div", {"class": "cond-group nested"}, [
      el("div", {"class": "cond-head"}, [el("span", {text: W.where}), modeSelect(row), el("span", {text: W.match})])]);
    row.rows.forEach(function (r, i) {
      inner.appendChild(fieldRowNode(link.fields, r, innerPath + "." + row.mode + "[" + i + "]", function () {
        row.rows.splice(i, 1);
      }));
    });
    inner.appendChild(el("button", {type: "button", "class": "small add-inner", text: "+ " + W.add, on: {click: function () {
      row.rows.push({kind: "field", field: link.fields[0].name, op: link.fields[0].ops[0], value: ""}); changed();
    }}}));
    return el("div", {"class": "cond linked", "data-path": path, role: "group", "aria-label": conditionName(path)}, [
      el("div", {"class": "cond-line"}, parts), inner, errorList(path, innerPath + ".")]);
  }

  function render() {
    root.textContent = "";
    root.hidden = false;
    if (!state) {
      root.appendChild(el("p", {"class": "notice", text: W.json_only}));
      return;
    }
    root.appendChild(el("div", {"class": "cond-head"}, [el("span", {text: W.match_before}), modeSelect(state),
      el("span", {text: W.match})]));
    var top = errorList("where", "where." + state.mode + "[");
    if (top) { root.appendChild(top); }
    if (!state.rows.length) { root.appendChild(el("p", {"class": "muted", text: W.no_conditions})); }
    state.rows.forEach(function (row, i) {
      var path = "where." + state.mode + "[" + i + "]";
      var remove = function () { state.rows.splice(i, 1); };
      root.appendChild(row.kind === "linked" ? linkedRowNode(row, path, remove)
        : fieldRowNode(schema.fields, row, path, remove));
    });
    var buttons = [el("button", {type: "button", id: "add-condition", "class": "small", text: "+ " + W.add,
      on: {click: function () {
        var f = schema.fields[0];
        state.rows.push({kind: "field", field: f.name, op: f.ops[0], value: ""}); changed();
      }}})];
    if (schema.linked.length) {
      buttons.push(el("button", {type: "button", id: "add-linked", "class": "small", text: "+ " + W.add_linked,
        on: {click: function () {
          state.rows.push({kind: "linked", link: 0, aggregate: "exists", field: "", order_by: "", op: "gte",
            value: "", mode: "all", rows: []});
          changed();
        }}}));
    }
    root.appendChild(el("div", {"class": "cond-actions"}, buttons));
  }

  textarea.addEventListener("input", function () { state = fromJson(textarea.value); render(); });
  state = fromJson(textarea.value);
  var raw = document.getElementById("raw-json");
  if (raw && state) { raw.open = false; }
  render();
  var form = document.getElementById("find-form");
  if (form) { form.addEventListener("submit", function () { if (state) { sync(); } }); }
  Array.prototype.forEach.call(document.querySelectorAll("form.takes-filter"), function (other) {
    other.addEventListener("submit", function () {  // save / update a segment with the filter as built now
      if (state) { sync(); }
      other.querySelector("input[name=filter]").value = textarea.value;
    });
  });
}());
