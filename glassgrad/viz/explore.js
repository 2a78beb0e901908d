// The explorable backward-pass page (glassgrad.viz.explore). Plain ES5, no libraries, no network.
// Everything from the user arrives as JSON and is set with textContent, never as markup.
(function () {
  "use strict";
  var T0 = performance.now();
  var D = JSON.parse(document.getElementById("data").textContent);
  var L = D.layout, W = D.sizes.w, H = D.sizes.h, MH = D.sizes.mh, N = D.steps.length;
  var byId = {}, modOf = {}, stepOf = {}, boxes = {}, into = {};
  D.nodes.forEach(function (n) { byId[n.id] = n; into[n.id] = []; });
  D.modules.forEach(function (m) { modOf[m.path] = m; });
  D.steps.forEach(function (s, k) { stepOf[s.node] = k; });
  D.edges.forEach(function (e, k) { into[e.dst].push(k); });
  Object.keys(into).forEach(function (id) {
    into[id].sort(function (a, b) { return D.edges[a].index - D.edges[b].index; });
  });
  var folded = {}; D.collapsed.forEach(function (p) { folded[p] = true; });
  var st = {}; // backward state, rebuilt by reset()
  var view = { s: 1, tx: 0, ty: 0 }, owners = {}, stageW = 0, stageH = 0, selected = null;
  var timer = null, explainLast = "";
  function $(id) { return document.getElementById(id); }
  var NS = $("edges").namespaceURI;

  // ---- numbers as text ---------------------------------------------------------------------
  function num(x) { return typeof x === "string" ? Number(x) : x; }
  function fmt(x, digits) {
    x = num(x);
    if (x === null || x === undefined) return "?";
    if (!isFinite(x)) return String(x);
    if (x === 0) return "0";
    var a = Math.abs(x);
    if (a >= 1e-3 && a < 1e4) return String(Number(x.toPrecision(digits || 4)));
    return x.toExponential((digits || 3) - 1).replace("e+", "e");
  }
  function shapeText(s) { return s.length ? s.join("\u00d7") : "scalar"; }
  function valueLine(s) {
    if (!s) return "value not kept";
    if (s.v && s.n === 1) return "= " + fmt(s.v[0]);
    if (s.mean === undefined) return s.dtype;
    return "\u03bc " + fmt(s.mean) + "  \u03c3 " + fmt(s.std);
  }
  function gradLine(s) {
    if (!s) return "";
    if (s.v && s.n === 1) return "\u2207 " + fmt(s.v[0]);
    return "\u2207 rms " + fmt(s.rms);
  }
  function statsText(s) {
    if (!s) return "unknown";
    var t = shapeText(s.shape) + " " + s.dtype;
    if (s.v) t += "  values [" + s.v.map(fmt).join(", ") + "]";
    if (s.mean !== undefined && s.n > 1) {
      t += "  mean " + fmt(s.mean) + ", std " + fmt(s.std) + ", min " + fmt(s.min) +
        ", max " + fmt(s.max) + ", norm " + fmt(s.norm) + ", rms " + fmt(s.rms);
    }
    return t;
  }
  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(2) + " MiB";
  }

  // ---- colour by gradient size (log scale) ---------------------------------------------------
  var STOPS = [[219, 233, 246], [255, 242, 179], [255, 192, 105], [244, 116, 59], [226, 74, 51]];
  var lo = Infinity, hi = -Infinity;
  D.nodes.forEach(function (n) {
    var r = n.grad ? num(n.grad.rms) : 0;
    if (r > 0 && isFinite(r)) { lo = Math.min(lo, Math.log10(r)); hi = Math.max(hi, Math.log10(r)); }
  });
  if (!isFinite(lo)) { lo = -3; hi = 0; }
  if (hi - lo < 1) { lo -= 0.5; hi += 0.5; }
  function ramp(t) {
    t = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    var i = Math.min(Math.floor(t), STOPS.length - 2), f = t - i, a = STOPS[i], b = STOPS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (c) { return Math.round(a[c] + (b[c] - a[c]) * f); }) + ")";
  }
  function luminance(css) { // WCAG relative luminance of "rgb(r,g,b)" or "#rrggbb"
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css), c;
    c = m ? [1, 2, 3].map(function (i) { return parseInt(m[i], 16); }) : css.match(/\d+/g).map(Number);
    var lin = c.slice(0, 3).map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }
  function ink(bg) { // black or white text, whichever contrasts more with the fill (>= 4.58:1)
    var l = luminance(bg);
    return (1.05) / (l + 0.05) > (l + 0.05) / 0.05 ? "#fff" : "#000";
  }
  function fill(b, bg) { // a box's fill and the text colour that stays readable on it
    b.style.background = bg;
    b.style.color = bg ? ink(bg) : "";
    b.classList.toggle("filled", !!bg);
  }
  function colour(s) {
    if (!s) return "";
    var r = num(s.rms);
    if (!isFinite(r)) return "rgb(180,0,0)";
    if (r === 0) return "#d9d9d9";
    return ramp((Math.log10(r) - lo) / (hi - lo));
  }
  function legend() {
    var css = [];
    for (var k = 0; k <= 10; k++) css.push(ramp(k / 10));
    $("legend-bar").style.background = "linear-gradient(to right," + css.join(",") + ")";
    var ticks = $("legend-ticks"), a = Math.ceil(lo), b = Math.floor(hi);
    var stepE = Math.max(1, Math.ceil((b - a + 1) / 5));
    for (var e = a; e <= b; e += stepE) {
      var sp = document.createElement("span");
      sp.textContent = "1e" + e;
      sp.style.left = (100 * (e - lo) / (hi - lo)) + "%";
      ticks.appendChild(sp);
    }
  }

  // ---- boxes ---------------------------------------------------------------------------------
  function line(box, cls, text, shorts) {
    var d = document.createElement("div");
    d.className = "ln " + cls;
    d.textContent = text;
    if (shorts) d._shorts = shorts;
    box.appendChild(d);
    return d;
  }
  function pathShorts(label) { // drop leading path components: tokens are never cut
    var parts = label.split("."), out = [];
    for (var k = 1; k < parts.length; k++) out.push(parts.slice(k).join("."));
    return out;
  }
  function histLine(box, s) {
    var d = line(box, "h", "");
    if (!s || !s.hist || s.n < 2) { d.classList.add("moved"); return; }
    var lo_ = document.createElement("span"), hi_ = document.createElement("span");
    lo_.textContent = fmt(s.min, 3); hi_.textContent = fmt(s.max, 3);
    var bars = document.createElement("span"), top = Math.max.apply(null, s.hist) || 1;
    bars.className = "hist";
    bars.title = "histogram of the values";
    s.hist.forEach(function (c) {
      var b = document.createElement("i");
      b.style.height = Math.max(1, Math.round(13 * c / top)) + "px";
      bars.appendChild(b);
    });
    d.appendChild(lo_); d.appendChild(bars); d.appendChild(hi_);
  }
  function makeBox(id, cls, w, h) {
    var b = document.createElement("div");
    b.className = "box " + cls;
    b.id = "box-" + id;
    b.style.width = w + "px"; b.style.height = h + "px";
    b.setAttribute("data-id", id);
    $("boxes").appendChild(b);
    boxes[id] = b;
    return b;
  }
  function buildBoxes() {
    D.nodes.forEach(function (n) {
      var b = makeBox(n.id, n.kind + (n.output ? " output" : "") +
        (n.flag && n.flag.flagged ? " flagged" : ""), W, H);
      var title = n.label + (n.name ? " \u00b7 " + n.name : "");
      var warn = n.flag && n.flag.flagged ? "\u26a0 " : "";
      line(b, "t", warn + title, n.kind === "leaf" ? pathShorts(n.label).map(function (s) {
        return warn + s;
      }) : [warn + n.label]);
      line(b, "s", shapeText(n.shape) + " \u00b7 " + n.dtype +
        (n.kind === "leaf" ? " \u00b7 leaf" : ""), [shapeText(n.shape)]);
      line(b, "v", n.note ? (n.kind === "leaf" ? "\u26a0 changed after forward" :
        "\u26a0 leaf changed: no value") : valueLine(n.value));
      histLine(b, n.note ? null : n.value);
      b._grad = line(b, "g", "");
      b.title = n.kind === "leaf" ? n.label : n.op;
    });
    D.modules.forEach(function (m) {
      var b = makeBox("m:" + m.path, "module" + (m.run ? " run" : ""), W, MH);
      var head = moduleHead(m);
      line(b, "t", head, m.run ? [m.label + " (" + m.size + " modules)", m.label] : pathShorts(head));
      line(b, "s", m.ops + " ops \u00b7 " + m.params + " params");
      line(b, "s", "\u25b8 click to unfold");
      b._grad = line(b, "g", "");
      b.title = head + ": click to unfold";
    });
  }
  function moduleHead(m) { // "2 (Linear)", or a run of modules: "0–9 (5 × Linear, ReLU)"
    return (m.label || "model") + (m.cls ? " (" + m.cls + ")" : "");
  }
  function fitText(b) { // a line too wide takes its shorter form, else moves to the side panel
    var lines = b.querySelectorAll(".ln");
    for (var k = 0; k < lines.length; k++) {
      var d = lines[k], shorts = d._shorts || [], i = 0;
      while (d.scrollWidth > d.clientWidth + 0.5 && i < shorts.length) d.textContent = shorts[i++];
      if (d.scrollWidth > d.clientWidth + 0.5) d.classList.add("moved");
    }
  }

  // ---- what is shown: folded modules, and the squeezed layout ---------------------------------
  function hiddenBy(box) { // the outermost folded module or run around box (itself included)
    var found = null;
    while (box !== null && box !== undefined) {
      if (folded[box]) found = box;
      box = modOf[box].parent;
    }
    return found;
  }
  function within(box, path) { // is something drawn in module (or run) box inside path?
    while (box !== null && box !== undefined) {
      if (box === path) return true;
      box = modOf[box].parent;
    }
    return false;
  }
  function ownerOf(id) {
    var f = hiddenBy(byId[id].in);
    return f === null ? id : "m:" + f;
  }
  function moduleVisible(m) { // shown as a folded box (not inside another fold)
    var f = hiddenBy(m.path);
    return f === m.path;
  }
  function clusterOf(path) {
    var c = L.clusters[path];
    if (c) return c;
    var xs = [], ys = [];
    D.nodes.forEach(function (n) {
      if (within(n.in, path)) { xs.push(L.pos[n.id][0]); ys.push(L.pos[n.id][1]); }
    });
    if (!xs.length) return null;
    return [Math.min.apply(null, xs) - W / 2, Math.min.apply(null, ys) - H / 2,
      Math.max.apply(null, xs) + W / 2, Math.max.apply(null, ys) + H / 2];
  }
  function exitOf(path) { // a folded module sits where its output node sat: the chain stays straight
    var best = null;
    D.nodes.forEach(function (n) {
      if (n.kind === "op" && within(n.in, path) &&
        (best === null || stepOf[n.id] < stepOf[best])) best = n.id;
    });
    if (best === null) return null;
    var p = L.pos[best];
    return [p[0], p[1], p[0], p[1]];
  }
  var GAP = 20, NEAR = 6; // the most empty space kept between boxes, and next to edge labels
  function squeeze(intervals) { // a monotone map shrinking each empty stretch to its margin
    intervals.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    intervals.forEach(function (iv) { // [lo, hi, margin]: the room wanted around it
      var last = merged[merged.length - 1];
      if (last && iv[0] <= last[1]) { last[1] = Math.max(last[1], iv[1]); last[2] = Math.min(last[2], iv[2]); }
      else merged.push([iv[0], iv[1], iv[2]]);
    });
    var src = [], dst = [], at = GAP;
    merged.forEach(function (iv, k) {
      if (k) at += Math.min(Math.min(iv[2], merged[k - 1][2]), iv[0] - merged[k - 1][1]);
      src.push(iv[0], iv[1]); dst.push(at, at + iv[1] - iv[0]);
      at += iv[1] - iv[0];
    });
    function map(v) {
      if (!src.length) return v;
      if (v <= src[0]) return dst[0] - (src[0] - v);
      for (var k = 1; k < src.length; k++) {
        if (v <= src[k]) {
          var span = src[k] - src[k - 1];
          return span > 0 ? dst[k - 1] + (dst[k] - dst[k - 1]) * (v - src[k - 1]) / span : dst[k];
        }
      }
      return dst[dst.length - 1] + (v - src[src.length - 1]);
    }
    return { map: map, end: at + GAP };
  }
  function opening() { // is the page showing the folds it opened with?
    var now = Object.keys(folded);
    return now.length === D.collapsed.length && D.collapsed.every(function (p) { return folded[p]; });
  }
  function source() { // where things sit before squeezing: the opening view's own layout, or
    var O = D.overview; //  the whole graph's layout (a folded module at its output node)
    if (O && opening()) {
      return {
        at: function (id) { return O.pos[id]; },
        frame: function (path) { return O.clusters[path]; },
        route: function (key) { return O.routes[key]; },
        label: function (key) { return O.labels[key]; }
      };
    }
    function original(key, g) { var e = D.edges[g.edges[0]]; return g.a === e.src && g.b === e.dst; }
    return {
      at: function (id) {
        if (id.indexOf("m:") !== 0) return L.pos[id];
        var c = exitOf(id.slice(2)) || clusterOf(id.slice(2));
        return c ? [(c[0] + c[2]) / 2, (c[1] + c[3]) / 2] : null;
      },
      frame: function (path) { return L.clusters[path]; },
      route: function (key, g) { return original(key, g) ? L.routes[g.edges[0]] : null; },
      label: function (key, g) { return original(key, g) ? L.labels[g.edges[0]] : null; }
    };
  }
  function layoutView() {
    var items = [], ix = [], iy = [], S = source();
    owners = {};
    D.nodes.forEach(function (n) {
      var o = ownerOf(n.id);
      owners[n.id] = o;
      var c = o === n.id && S.at(n.id);
      if (c) items.push({ id: n.id, x: c[0], y: c[1], w: W, h: H });
    });
    D.modules.forEach(function (m) {
      var b = boxes["m:" + m.path];
      b.style.display = "none";
      if (!moduleVisible(m)) return;
      var c = S.at("m:" + m.path);
      if (c) items.push({ id: "m:" + m.path, x: c[0], y: c[1], w: W, h: MH });
    });
    var groups = {}, order = [];
    D.edges.forEach(function (e, k) {
      var a = owners[e.src], b = owners[e.dst];
      if (a === b) return;
      var key = a + ">" + b;
      if (!groups[key]) { groups[key] = { a: a, b: b, edges: [] }; order.push(key); }
      groups[key].edges.push(k);
    });
    items.forEach(function (it) {
      ix.push([it.x - it.w / 2, it.x + it.w / 2, GAP]); iy.push([it.y - it.h / 2, it.y + it.h / 2, GAP]);
    });
    var at = {};
    items.forEach(function (it) { at[it.id] = it; });
    order.forEach(function (key) { // room for each edge's label (Graphviz's spot, or midway)
      var g = groups[key], lp = S.label(key, g);
      if (!lp) lp = [(at[g.a].x + at[g.b].x) / 2, (at[g.a].y + at[g.b].y) / 2];
      ix.push([lp[0] - 40, lp[0] + 40, NEAR]); iy.push([lp[1] - 14, lp[1] + 14, NEAR]);
    });
    D.modules.forEach(function (m) { // the frames' borders and titles stay on the stage
      var c = S.frame(m.path);
      if (hiddenBy(m.path) !== null || !c) return;
      ix.push([c[0] - 4, c[0] + 4, NEAR], [c[2] - 4, c[2] + 4, NEAR]);
      iy.push([c[1] - 14, c[1] + 4, NEAR], [c[3] - 4, c[3] + 4, NEAR]);
    });
    var mx = squeeze(ix), my = squeeze(iy);
    function P(p) { return [mx.map(p[0]), my.map(p[1])]; }
    var placed = {};
    items.forEach(function (it) {
      var c = P([it.x, it.y]), b = boxes[it.id];
      placed[it.id] = { x: c[0], y: c[1], w: it.w, h: it.h };
      b.style.display = "";
      b.style.left = (c[0] - it.w / 2) + "px"; b.style.top = (c[1] - it.h / 2) + "px";
    });
    D.nodes.forEach(function (n) { if (owners[n.id] !== n.id) boxes[n.id].style.display = "none"; });
    stageW = mx.end; stageH = my.end;
    drawFrames(P, S);
    drawEdges(groups, order, placed, P, S);
    var stage = $("stage"), svg = $("edges");
    stage.style.width = stageW + "px"; stage.style.height = stageH + "px";
    svg.setAttribute("width", stageW); svg.setAttribute("height", stageH);
    paint();
  }
  function drawFrames(P, S) {
    var fr = $("frames");
    fr.textContent = "";
    D.modules.forEach(function (m) {
      if (hiddenBy(m.path) !== null) return; // folded, or inside a fold
      var c = S.frame(m.path);
      if (!c) return;
      var a = P([c[0], c[1]]), b = P([c[2], c[3]]);
      var f = document.createElement("div");
      f.className = "frame";
      f.style.left = a[0] + "px"; f.style.top = a[1] + "px";
      f.style.width = (b[0] - a[0]) + "px"; f.style.height = (b[1] - a[1]) + "px";
      var head = document.createElement("div");
      head.className = "frame-head";
      head.textContent = "\u25be " + moduleHead(m);
      head.title = "click to fold";
      head.setAttribute("data-path", m.path);
      head.onclick = function (ev) { ev.stopPropagation(); fold(m.path); };
      f.appendChild(head);
      fr.appendChild(f);
    });
  }
  var edgeEls = []; // per drawn group: {edges, path, label}
  function port(p, out) {
    if (D.rankdir === "LR") return [p.x + (out ? p.w / 2 : -p.w / 2), p.y];
    return [p.x, p.y + (out ? p.h / 2 : -p.h / 2)];
  }
  function drawEdges(groups, order, placed, P, S) {
    var svg = $("edges"), labels = document.createDocumentFragment();
    svg.textContent = "";
    edgeEls = [];
    var old = document.querySelectorAll(".elabel");
    for (var k = 0; k < old.length; k++) old[k].parentNode.removeChild(old[k]);
    order.forEach(function (key) {
      var g = groups[key], e0 = D.edges[g.edges[0]], d, mid;
      var route = S.route(key, g);
      if (route && route.length >= 4) {
        var pts = route.map(P);
        d = "M" + pts[0][0] + "," + pts[0][1];
        for (var i = 1; i + 2 < pts.length; i += 3) {
          d += " C" + [pts[i], pts[i + 1], pts[i + 2]].map(function (q) { return q[0] + "," + q[1]; }).join(" ");
        }
        var lp = S.label(key, g);
        mid = lp ? P(lp) : pts[Math.floor(pts.length / 2)];
      } else {
        var s = port(placed[g.a], true), t = port(placed[g.b], false), c1, c2;
        if (D.rankdir === "LR") {
          var dx = Math.max(30, (t[0] - s[0]) / 2);
          c1 = [s[0] + dx, s[1]]; c2 = [t[0] - dx, t[1]];
        } else {
          var dy = Math.max(30, (t[1] - s[1]) / 2);
          c1 = [s[0], s[1] + dy]; c2 = [t[0], t[1] - dy];
        }
        d = "M" + s + " C" + c1 + " " + c2 + " " + t;
        mid = [(s[0] + 3 * c1[0] + 3 * c2[0] + t[0]) / 8, (s[1] + 3 * c1[1] + 3 * c2[1] + t[1]) / 8];
      }
      var path = document.createElementNS(NS, "path");
      path.setAttribute("d", d);
      path.setAttribute("data-a", g.a); path.setAttribute("data-b", g.b);
      path.setAttribute("marker-end", "");
      svg.appendChild(path);
      var lab = document.createElement("div");
      lab.className = "elabel";
      var sh = document.createElement("div"), eg = document.createElement("div");
      sh.className = "sh"; eg.className = "eg";
      sh.textContent = shapeText(e0.shape);
      lab.appendChild(sh); lab.appendChild(eg);
      lab.style.left = mid[0] + "px"; lab.style.top = mid[1] + "px";
      lab.style.transform = "translate(-50%, -50%)";
      labels.appendChild(lab);
      edgeEls.push({ edges: g.edges, path: path, grad: eg });
    });
    $("boxes").appendChild(labels);
  }

  // ---- the backward pass, step by step -------------------------------------------------------
  function reset() {
    st = { at: 0, sum: {}, arrivals: {}, nums: {}, exact: {}, sent: {}, visited: {}, now: null,
      meet: {} };
    D.leaves.forEach(function (l) { st.exact[l.id] = true; });
    showLeaves();
    paint();
    var out = byId[D.steps.length ? D.steps[0].node : D.nodes[0].id];
    $("explain-text").textContent = "Press \u201cstep\u201d: the backward pass starts at the " +
      "output (" + out.label + "), where dL/dL = 1, and visits the nodes in the order the " +
      "engine runs them.";
    status();
  }
  function forward(quiet) {
    if (st.at >= N) return;
    var s = D.steps[st.at], n = byId[s.node];
    st.visited[s.node] = true;
    st.now = s.node;
    st.meet = {};
    var lines = ["step " + (st.at + 1) + " of " + N + ": " + n.label + "  (" + n.op + ")" +
      (n.module ? "  in " + n.module : "")];
    lines.push("arriving  " + (s.incoming ? statsText(s.incoming) : "nothing") +
      (s.paths > 1 ? "   = the sum of " + s.paths + " paths" : ""));
    lines.push("rule      " + n.symbols);
    s.sends.forEach(function (t) {
      st.sent[t.edge] = t.grad;
      st.sum[t.to] = t.sum;
      st.arrivals[t.to] = t.arrival;
      var to = byId[t.to];
      if (t.nums && st.exact[t.to]) {
        var acc = st.nums[t.to];
        if (!acc) st.nums[t.to] = t.nums.map(num);
        else for (var i = 0; i < acc.length; i++) acc[i] += num(t.nums[i]);
      } else if (to.kind === "leaf") {
        st.exact[t.to] = false;
      }
      var arg = n.args[D.edges[t.edge].index] || "input " + (D.edges[t.edge].index + 1);
      lines.push("to " + arg + " = " + to.label + "   " + gradLine(t.grad).replace("\u2207 ", "") +
        (t.arrival > 1 ? "   \u2192 " + t.arrival + " paths meet: running sum " +
          gradLine(t.sum).replace("\u2207 ", "") : ""));
      if (t.arrival > 1) st.meet[t.to] = true;
    });
    st.at += 1;
    if (st.at === N) st.now = null;
    explainLast = lines.join("\n");
    if (!quiet) {
      $("explain-text").textContent = explainLast;
      showLeaves();
      paint();
      status();
      if (selected) select(selected);
    }
  }
  function back() { var target = st.at - 1; reset(); while (st.at < target) forward(true); refresh(); }
  function all() { stop(); while (st.at < N) forward(true); refresh(); }
  function refresh() {
    if (st.at > 0) $("explain-text").textContent = explainLast;
    showLeaves(); paint(); status();
    if (selected) select(selected);
  }
  function nested(flat, shape) {
    if (!shape.length) return flat[0];
    var size = flat.length / shape[0], out = [];
    for (var k = 0; k < shape[0]; k++) out.push(nested(flat.slice(k * size, (k + 1) * size), shape.slice(1)));
    return out;
  }
  function showLeaves() {
    D.leaves.forEach(function (l) {
      var cell = $("g" + l.id), s = st.sum[l.id], n = byId[l.id];
      if (!cell) return;
      cell.textContent = s ? statsText(s) + (st.arrivals[l.id] > 1 ? "  (" + st.arrivals[l.id] + " paths)" : "") : "0 (nothing yet)";
      var exact = s && st.exact[l.id] && st.nums[l.id] ? JSON.stringify(nested(st.nums[l.id], n.shape)) : "";
      cell.setAttribute("data-value", exact);
      cell.setAttribute("data-norm", s ? String(num(s.norm)) : "");
    });
  }
  function gradOf(id) { // what the box shows now: an op's gradient once visited, a leaf's sum
    var n = byId[id];
    if (n.kind === "leaf") return st.sum[id] || null;
    return st.visited[id] ? D.steps[stepOf[id]].incoming : null;
  }
  function paint() {
    var current = st.now ? owners[st.now] : null, meets = {};
    Object.keys(st.meet || {}).forEach(function (id) { meets[owners[id]] = true; });
    D.nodes.forEach(function (n) {
      var b = boxes[n.id], g = gradOf(n.id);
      b._grad.textContent = g ? gradLine(g) + (st.arrivals[n.id] > 1 && n.kind === "leaf" ? "  \u03a3" + st.arrivals[n.id] : "") : "";
      fill(b, colour(g));
      b.classList.toggle("current", current === n.id);
      b.classList.toggle("meet", !!meets[n.id] && current !== n.id);
    });
    D.modules.forEach(function (m) {
      var b = boxes["m:" + m.path], first = null;
      D.nodes.forEach(function (n) { // the module's output: its node the backward pass visits first
        if (n.kind === "op" && owners[n.id] === "m:" + m.path && st.visited[n.id] &&
          (first === null || stepOf[n.id] < stepOf[first])) first = n.id;
      });
      var g = first ? gradOf(first) : null;
      b._grad.textContent = g ? gradLine(g) : "";
      fill(b, colour(g));
      b.classList.toggle("current", current === "m:" + m.path);
      b.classList.toggle("meet", !!meets["m:" + m.path]);
    });
    var nowEdges = {};
    if (st.at > 0 && st.at <= N) D.steps[st.at - 1].sends.forEach(function (t) { nowEdges[t.edge] = true; });
    edgeEls.forEach(function (el) {
      var g = null, now = false;
      el.edges.forEach(function (k) { if (st.sent[k]) g = st.sent[k]; if (nowEdges[k]) now = true; });
      el.path.setAttribute("class", now ? "now" : g ? "back" : "");
      el.grad.textContent = g ? gradLine(g) : "";
    });
  }
  function status() {
    $("counter").textContent = "step " + st.at + " of " + N;
    document.body.setAttribute("data-step", String(st.at));
  }
  function play() {
    if (timer) { stop(); return; }
    if (st.at >= N) reset();
    $("play").textContent = "\u23f8 pause";
    timer = setInterval(function () { if (st.at >= N) stop(); else forward(false); },
      1000 / Number($("speed").value));
  }
  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    $("play").textContent = "\u25b6 run all";
  }

  // ---- the side panel ------------------------------------------------------------------------
  function dt(dl, text) { var e = document.createElement("dt"); e.textContent = text; dl.appendChild(e); }
  function dd(dl, text, id, cls) {
    var e = document.createElement("dd");
    e.textContent = text;
    if (id) e.id = id;
    if (cls) e.className = cls;
    dl.appendChild(e);
    return e;
  }
  function list(dl, items, id) {
    var e = document.createElement("dd"), ul = document.createElement("ul");
    ul.id = id;
    items.forEach(function (t) { var li = document.createElement("li"); li.textContent = t; ul.appendChild(li); });
    e.appendChild(ul); dl.appendChild(e);
  }
  function select(id) {
    if (selected && boxes[selected]) boxes[selected].classList.remove("selected");
    selected = id;
    if (boxes[id]) boxes[id].classList.add("selected");
    var body = $("p-body"), dl = document.createElement("dl");
    body.textContent = "";
    body.appendChild(dl);
    if (id.indexOf("m:") === 0) {
      var m = modOf[id.slice(2)];
      $("p-title").textContent = moduleHead(m);
      dt(dl, m.run ? "run of modules" : "module");
      dd(dl, (m.run ? "Modules " + m.label + " of " + (m.parent === null ? "the model" : m.parent) +
        ", grouped so that the page opens on a view you can read. " : "") + m.ops + " ops and " +
        m.params + " parameters inside; click its box to unfold it.", "p-module");
      return;
    }
    var n = byId[id];
    $("p-title").textContent = n.label + (n.name ? " \u00b7 " + n.name : "");
    if (n.module) { dt(dl, "module"); dd(dl, n.module + (modOf[n.module] && modOf[n.module].cls ? " (" + modOf[n.module].cls + ")" : ""), "p-module"); }
    if (n.kind === "leaf") {
      dt(dl, "value"); dd(dl, (n.note ? "now " : "") + statsText(n.value), "p-value");
      if (n.note) { dt(dl, "\u26a0 changed since the forward"); dd(dl, n.note, "p-note"); }
      dt(dl, "gradient so far (sum of what arrived)");
      dd(dl, st.sum[id] ? statsText(st.sum[id]) : "nothing yet", "p-incoming");
      dt(dl, "final gradient (.grad after backward)"); dd(dl, statsText(n.grad), "p-final");
      return;
    }
    dt(dl, "PyTorch node"); dd(dl, n.op, "p-op");
    var ins = into[id].map(function (k) {
      var e = D.edges[k], a = n.args[e.index] || "input " + (e.index + 1);
      return { k: k, arg: a, from: byId[e.src] };
    });
    dt(dl, "forward");
    dd(dl, "output = " + n.forward, "p-forward", "sym");
    ins.forEach(function (i) { dd(dl, i.arg + " = " + i.from.label + "  (" + shapeText(i.from.shape) + ")"); });
    dt(dl, "output value");
    dd(dl, n.value ? statsText(n.value) : n.note ? "\u26a0 not shown: " + n.note :
      "not kept: the engine frees an op's output unless a backward rule needs it, and this " +
      "op cannot be run again", "p-value");
    dt(dl, "local derivative"); dd(dl, n.words, "p-words"); dd(dl, n.symbols, "p-symbols", "sym");
    var k = stepOf[id], s = D.steps[k], done = st.visited[id];
    dt(dl, "gradient arriving, g = dL/d output");
    dd(dl, done ? statsText(s.incoming) + (s.paths > 1 ? "  (the sum of " + s.paths + " paths)" : "") :
      "not yet: arrives at step " + (k + 1), "p-incoming");
    dt(dl, "gradient sent to each input");
    list(dl, ins.map(function (i) {
      var g = st.sent[i.k];
      return "to " + i.arg + " (" + i.from.label + "): " + (done && g ? statsText(g) : g === undefined && done ? "none (no gradient needed)" : "not yet");
    }), "p-sends");
    dt(dl, "saved for backward");
    list(dl, n.saved.length ? n.saved.map(function (v) {
      return v.what + ": " + shapeText(v.shape) + " " + v.dtype + ", " + bytes(v.bytes);
    }) : ["nothing"], "p-saved");
    dd(dl, bytes(n.savedBytes) + " kept from the forward pass until backward frees them", "p-bytes");
    if (n.flag) {
      dt(dl, n.flag.what === "dead" ? "dead units" : "saturation");
      dd(dl, Math.round(100 * n.flag.fraction) + "% " + (n.flag.what === "dead" ?
        "of the units are zero for the whole batch: they pass no gradient" :
        "of the outputs have a local slope below 0.001: they pass almost no gradient") +
        (n.flag.flagged ? "  \u26a0 flagged" : ""), "p-flag");
    }
  }

  // ---- folding, zoom and pan -----------------------------------------------------------------
  function fold(path) { folded[path] = true; layoutView(); }
  function unfold(path) { delete folded[path]; layoutView(); focus("m:" + path, path); }
  function apply() {
    $("stage").style.transform = "translate(" + view.tx + "px," + view.ty + "px) scale(" + view.s + ")";
  }
  var READABLE = 9 / 11.5; // the zoom at which box text (11.5px) is 9px tall: easy to read
  function fitScale() {
    var vp = $("viewport");
    return Math.min(vp.clientWidth / stageW, vp.clientHeight / stageH, 1.25);
  }
  function fit() { // the whole drawing, centred in the window
    var vp = $("viewport"), vw = vp.clientWidth, vh = vp.clientHeight;
    view.s = fitScale();
    view.tx = (vw - stageW * view.s) / 2; view.ty = (vh - stageH * view.s) / 2;
    apply();
  }
  function foldToFit() { // too small to read whole: fold every level from d down, deepest d first
    // (a graph small enough to open unfolded stays so: every op in sight, zoom to read)
    if (fitScale() >= READABLE || !D.modules.length || !D.collapsed.length) return;
    var deepest = 0;
    D.modules.forEach(function (m) { deepest = Math.max(deepest, m.depth); });
    for (var d = deepest; d >= 1; d--) {
      var next = {}, more = false;
      D.modules.forEach(function (m) {
        if (m.depth >= d || folded[m.path]) { next[m.path] = true; if (!folded[m.path]) more = true; }
      });
      if (!more) continue;
      folded = next;
      layoutView();
      if (fitScale() >= READABLE) return;
    }
  }
  function focus(id, path) {
    var b = boxes[id];
    var c = path !== undefined && L.clusters[path] ? null : b;
    var vp = $("viewport");
    if (c && c.style.display !== "none") {
      view.tx = vp.clientWidth / 2 - (c.offsetLeft + c.offsetWidth / 2) * view.s;
      view.ty = vp.clientHeight / 2 - (c.offsetTop + c.offsetHeight / 2) * view.s;
      apply();
    }
  }
  function zoom(f, cx, cy) {
    var vp = $("viewport");
    if (cx === undefined) { cx = vp.clientWidth / 2; cy = vp.clientHeight / 2; }
    var s = Math.max(0.05, Math.min(4, view.s * f));
    view.tx = cx - (cx - view.tx) * s / view.s; view.ty = cy - (cy - view.ty) * s / view.s;
    view.s = s;
    apply();
  }
  function wire() {
    var vp = $("viewport"), drag = null;
    vp.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = vp.getBoundingClientRect();
      zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    vp.addEventListener("pointerdown", function (ev) {
      if (ev.target.closest && ev.target.closest(".box, .frame-head")) return;
      drag = { x: ev.clientX, y: ev.clientY, tx: view.tx, ty: view.ty };
      vp.classList.add("dragging");
    });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      view.tx = drag.tx + ev.clientX - drag.x; view.ty = drag.ty + ev.clientY - drag.y;
      apply();
    });
    window.addEventListener("pointerup", function () { drag = null; vp.classList.remove("dragging"); });
    $("boxes").addEventListener("click", function (ev) {
      var b = ev.target.closest ? ev.target.closest(".box") : null;
      if (!b) return;
      var id = b.getAttribute("data-id");
      if (id.indexOf("m:") === 0) { unfold(id.slice(2)); select(id); } else select(id);
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.target && ev.target.tagName === "INPUT") return;
      var k = ev.key, done = true;
      if (k === "+" || k === "=") zoom(1.25);
      else if (k === "-" || k === "_") zoom(0.8);
      else if (k === "0" || k === "f") fit();
      else if (k === "ArrowLeft") { view.tx += 60; apply(); }
      else if (k === "ArrowRight") { view.tx -= 60; apply(); }
      else if (k === "ArrowUp") { view.ty += 60; apply(); }
      else if (k === "ArrowDown") { view.ty -= 60; apply(); }
      else if (k === "." || k === ">") forward(false);
      else if (k === "," || k === "<") back();
      else if (k === " ") play();
      else if (k === "Home") reset();
      else if (k === "End") all();
      else done = false;
      if (done) ev.preventDefault();
    });
    $("reset").onclick = function () { stop(); reset(); };
    $("back").onclick = function () { stop(); back(); };
    $("step").onclick = function () { stop(); forward(false); };
    $("play").onclick = play;
    $("speed").oninput = function () { if (timer) { stop(); play(); } };
    $("fit").onclick = fit;
    $("zoomin").onclick = function () { zoom(1.25); };
    $("zoomout").onclick = function () { zoom(0.8); };
    $("unfold").onclick = function () { folded = {}; layoutView(); fit(); };
    $("fold").onclick = function () { // every level: each click then unfolds one
      folded = {};
      D.modules.forEach(function (m) { folded[m.path] = true; });
      layoutView(); fit();
    };
  }

  function warnings() { // leaves changed since the forward: say so at the top, not only per box
    var changed = [], other = null;
    D.nodes.forEach(function (n) {
      if (n.note && n.kind === "leaf") changed.push(n.label);
      else if (n.note && other === null) other = n.note;
    });
    var w = $("warn");
    if (changed.length) {
      w.textContent = "\u26a0 " + changed.join(", ") + (changed.length > 1 ? " were" : " was") +
        " modified in place after the forward (an optimizer step?): the values of the ops " +
        "computed from " + (changed.length > 1 ? "them" : "it") + " are not shown, and the " +
        "leaf values shown are the current ones. The gradients are those of the recorded graph.";
    } else if (other !== null) {
      w.textContent = "\u26a0 Some values are not shown: " + other + ".";
    } else return;
    w.hidden = false;
  }

  buildBoxes();
  warnings();
  Object.keys(boxes).forEach(function (id) { fitText(boxes[id]); });
  legend();
  wire();
  reset();
  layoutView();
  foldToFit();
  fit();
  var m = /^#step=(\d+)$/.exec(location.hash);
  if (location.hash === "#autoplay") all();
  else if (m) { while (st.at < Math.min(Number(m[1]), N)) forward(true); refresh(); }
  window.glassgradPage = {
    step: function () { forward(false); }, back: back, reset: reset, all: all, select: select,
    fold: fold, unfold: unfold, fit: fit, zoom: zoom,
    state: function () {
      return { at: st.at, steps: N, scale: view.s, tx: view.tx, ty: view.ty, folded: Object.keys(folded) };
    }
  };
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - T0)));
  document.body.setAttribute("data-layout", L.engine + " " + D.rankdir);
  document.body.setAttribute("data-ready", "1");
})();
