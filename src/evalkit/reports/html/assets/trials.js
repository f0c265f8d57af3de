// evalkit run report: filter, search, sort and page through the embedded trials.
// Everything from the data block is untrusted: it only ever reaches the page through
// textContent and createElement, never innerHTML, and no URL is built from it.
(function () {
  "use strict";
  var PAGE = 50;
  var trials = JSON.parse(document.getElementById("evalkit-data").textContent);
  var state = { page: 0, shown: trials, open: {} };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function asText(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }
  function fmt(value, digits) {
    return value === null || value === undefined ? "-" : Number(value).toFixed(digits);
  }
  function haystack(t) {
    if (t._hay === undefined) {
      var reasons = t.grades.map(function (g) { return g.metric + " " + g.reason + " " + (g.reasoning || ""); });
      if (t.human) humanViews(t).forEach(function (v) { reasons.push(v.reviewer + " " + (v.note || "")); });
      t._hay = [t.id, t.tags.join(" "), asText(t.input), asText(t.expected), t.output || "",
        t.error || "", reasons.join(" ")].join("\n").toLowerCase();
    }
    return t._hay;
  }
  function firstReason(t) {
    if (t.status === "error") return (t.error_kind || "error") + ": " + (t.error || "");
    for (var i = 0; i < t.grades.length; i++) {
      var g = t.grades[i];
      if (g.status !== "pass") return g.metric + ": " + (g.reason || g.status);
    }
    return "";
  }

  // Filling the select boxes from the data keeps the template free of loops over trials.
  function fill(select, values) {
    values.sort().forEach(function (v) { select.appendChild(el("option", "", v)).value = v; });
  }
  function distinct(pick) {
    var seen = {};
    trials.forEach(function (t) { [].concat(pick(t)).forEach(function (v) { seen[v] = true; }); });
    return Object.keys(seen);
  }
  fill($("f-suite"), distinct(function (t) { return t.suite; }));
  fill($("f-target"), distinct(function (t) { return t.target; }));
  fill($("f-tag"), distinct(function (t) { return t.tags; }));

  var RANK = { error: 0, fail: 1, skipped: 2, pass: 3 };
  var SORTS = {
    id: null,
    status: function (a, b) { return RANK[a.status] - RANK[b.status]; },
    score: function (a, b) { return num(a.score, 2) - num(b.score, 2); },
    "-score": function (a, b) { return num(b.score, -1) - num(a.score, -1); },
    "-latency": function (a, b) { return num(b.latency, -1) - num(a.latency, -1); },
    "-cost": function (a, b) { return num(b.cost, -1) - num(a.cost, -1); }
  };
  function num(v, missing) { return v === null || v === undefined ? missing : v; }

  function apply() {
    var q = $("q").value.trim().toLowerCase();
    var status = $("f-status").value, suite = $("f-suite").value;
    var target = $("f-target").value, tag = $("f-tag").value, human = $("f-human").value;
    var shown = trials.filter(function (t) {
      if (status === "notpass" ? t.status === "pass" : status && t.status !== status) return false;
      if (suite && t.suite !== suite) return false;
      if (target && t.target !== target) return false;
      if (tag && t.tags.indexOf(tag) < 0) return false;
      if (human === "reviewed" && !t.human) return false;
      if (human === "unreviewed" && t.human) return false;
      if (human === "disagrees" && !t.disagrees) return false;
      return !q || haystack(t).indexOf(q) >= 0;
    });
    var sort = SORTS[$("sort").value];
    if (sort) shown = shown.slice().sort(sort); // Array.sort is stable: ties keep id order
    state.shown = shown;
    state.page = 0;
    draw();
  }

  // Word-level diff (LCS); long texts fall back to no diff rather than freeze the tab.
  function tokens(s) { return s.match(/\s+|[^\s]+/g) || []; }
  function diff(a, b) {
    var x = tokens(a), y = tokens(b);
    if (x.length * y.length > 4000000) return null;
    var n = x.length, m = y.length, i, j;
    var dp = new Array(n + 1);
    for (i = 0; i <= n; i++) dp[i] = new Uint32Array(m + 1);
    for (i = n - 1; i >= 0; i--)
      for (j = m - 1; j >= 0; j--)
        dp[i][j] = x[i] === y[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    var out = [];
    i = 0; j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) { out.push(["=", x[i]]); i++; j++; }
      else if (j < m && (i === n || dp[i][j + 1] >= dp[i + 1][j])) { out.push(["+", y[j]]); j++; }
      else { out.push(["-", x[i]]); i++; }
    }
    return out;
  }
  function diffBlock(expected, output) {
    var pre = el("pre", "text diff");
    var parts = diff(expected, output);
    if (!parts) { pre.textContent = output; return pre; }
    parts.forEach(function (p) {
      pre.appendChild(el(p[0] === "=" ? "span" : p[0] === "+" ? "ins" : "del", "", p[1]));
    });
    return pre;
  }

  // Human labels in force: the one on the whole trial first, then those on single grades.
  function humanViews(t) {
    if (!t.human) return [];
    return (t.human.trial ? [t.human.trial] : []).concat(t.human.grades);
  }
  function verdict(v) { return v.passed ? "pass" : "fail"; }
  function humanLine(v, what) {
    var line = el("p", "human" + (v.agrees === false ? " disagrees" : ""));
    line.appendChild(el("span", "status s-" + verdict(v), "human " + verdict(v)));
    line.appendChild(el("span", "", " " + what + " · by " + v.reviewer + " · " +
      v.at.slice(0, 16).replace("T", " ") + " UTC · via " + v.source + " · "));
    line.appendChild(el("b", v.agrees === false ? "flag" : "muted", v.agrees === null
      ? "the machine gave no verdict" : v.agrees ? "agrees with the machine" : "disagrees with the machine"));
    if (v.note) line.appendChild(el("pre", "text note", v.note));
    return line;
  }
  function humanCell(t) {
    var cell = el("td", "");
    var views = humanViews(t);
    if (!views.length) return cell;
    var shown = t.human.trial || views[0];
    cell.appendChild(el("span", "status s-" + verdict(shown), verdict(shown)));
    if (!t.human.trial) cell.appendChild(el("span", "muted", " on " + (shown.metric || "a grade")));
    if (t.disagrees) cell.appendChild(el("b", "flag", " ≠ machine"));
    return cell;
  }

  function field(parent, label, node) {
    parent.appendChild(el("h4", "", label));
    parent.appendChild(node);
  }
  // A conversation or agent: each message and tool call, grades at the turn they judged.
  function gradeLine(g) {
    var line = el("p", "grade");
    line.appendChild(el("span", "status s-" + g.status, g.status));
    line.appendChild(el("b", "", " " + g.metric + " "));
    line.appendChild(el("span", "", g.reason));
    return line;
  }
  function transcript(entries) {
    var list = el("ol", "transcript");
    entries.forEach(function (e) {
      var item = el("li", "step r-" + e.role);
      if (e.role === "tool") {
        item.appendChild(el("span", "who", "⚙ " + e.tool));
        item.appendChild(el("code", "", e.args));
        item.appendChild(el("span", "", " → "));
        item.appendChild(e.error ? el("span", "fail", "error: " + e.error) : el("code", "", e.result));
      } else if (e.role !== "grades") {
        item.appendChild(el("span", "who", e.role + (e.turn ? " · turn " + e.turn : "")));
        item.appendChild(el("span", "", e.text));
      } else {
        item.appendChild(el("span", "who", "whole conversation"));
      }
      if (e.cached) item.appendChild(el("span", "muted", " (cached)"));
      e.grades.forEach(function (g) { item.appendChild(gradeLine(g)); });
      list.appendChild(item);
    });
    return list;
  }
  function details(t) {
    var box = el("div", "detail");
    box.appendChild(el("p", "muted", "tags: " + (t.tags.join(", ") || "-") + " · latency " +
      fmt(t.latency, 0) + " ms · cost " + (t.cost === null ? "-" : "$" + fmt(t.cost, 5)) +
      (t.cached ? " · cached" : "")));
    field(box, "input", el("pre", "text", asText(t.input)));
    if (t.transcript) field(box, "transcript", transcript(t.transcript));
    var expected = asText(t.expected);
    field(box, "expected", el("pre", "text", expected || "-"));
    if (t.human) {
      var verdicts = el("div", "humans");
      if (t.human.trial) verdicts.appendChild(humanLine(t.human.trial, "on the whole trial"));
      t.human.grades.forEach(function (v) { verdicts.appendChild(humanLine(v, "on " + (v.metric || "grade " + v.idx))); });
      field(box, "human verdict", verdicts);
    }
    if (t.error) field(box, "error (" + (t.error_kind || "error") + ")", el("pre", "text err", t.error));
    var output = t.output === null || t.output === undefined ? "" : t.output;
    field(box, "output", el("pre", "text", output || "-"));
    if (expected && output && !t.cut) field(box, "diff: expected → output (struck out: only expected; marked: only output)", diffBlock(expected, output));
    if (t.data !== null && t.data !== undefined) field(box, "structured output", el("pre", "text", asText(t.data)));
    var list = el("ul", "grades");
    t.grades.forEach(function (g) {
      var item = el("li", "");
      item.appendChild(el("span", "status s-" + g.status, g.status));
      item.appendChild(el("b", "", " " + g.metric + " "));
      item.appendChild(el("span", "muted", g.score === null ? "" : "score " + fmt(g.score, 2) + " "));
      item.appendChild(el("span", "", g.reason));
      if (g.reasoning) {
        var why = el("details", "reasoning");
        why.appendChild(el("summary", "", "judge's reasoning" + (g.judge ? " (" + g.judge + ")" : "")));
        why.appendChild(el("pre", "text", g.reasoning));
        item.appendChild(why);
      }
      list.appendChild(item);
    });
    field(box, "grades", t.grades.length ? list : el("p", "muted", "no grades"));
    return box;
  }

  function draw() {
    var body = $("trials").tBodies[0];
    var total = state.shown.length, pages = Math.max(1, Math.ceil(total / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * PAGE, rows = state.shown.slice(start, start + PAGE);
    var frag = document.createDocumentFragment();
    rows.forEach(function (t) {
      var tr = el("tr", "trial s-row-" + t.status);
      tr.tabIndex = 0;
      tr.dataset.trial = t.id;
      tr.appendChild(el("td", "id", t.id));
      var cell = el("td", "");
      cell.appendChild(el("span", "status s-" + t.status, t.status));
      tr.appendChild(cell);
      tr.appendChild(humanCell(t));
      tr.appendChild(el("td", "n", fmt(t.score, 2)));
      tr.appendChild(el("td", "n", t.latency === null ? "-" : fmt(t.latency, 0) + " ms"));
      tr.appendChild(el("td", "reason", firstReason(t)));
      frag.appendChild(tr);
      if (state.open[t.id]) {
        var more = el("tr", "more");
        var td = el("td", "");
        td.colSpan = 6;
        td.appendChild(details(t));
        more.appendChild(td);
        frag.appendChild(more);
      }
    });
    body.replaceChildren(frag);
    $("count").textContent = total === trials.length
      ? total + " trials" : total + " of " + trials.length + " trials match";
    $("page-info").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  $("trials").addEventListener("click", function (event) {
    var row = event.target.closest("tr.trial");
    if (!row) return;
    state.open[row.dataset.trial] = !state.open[row.dataset.trial];
    draw();
  });
  $("trials").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches("tr.trial")) event.target.click();
  });
  $("prev").addEventListener("click", function () { state.page--; draw(); });
  $("next").addEventListener("click", function () { state.page++; draw(); });
  var timer = null;
  $("q").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  ["f-status", "f-suite", "f-target", "f-tag", "f-human", "sort"].forEach(function (id) {
    $(id).addEventListener("change", apply);
  });
  $("filters").addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  draw();
  document.body.dataset.ready = "true";
})();
