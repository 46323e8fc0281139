// A small, safe Markdown renderer for AI replies: everything is escaped first, then a few constructs are added
// (paragraphs, line breaks, bold, italic, inline code, fenced code, lists, http(s) links). No HTML from the
// content ever survives as markup.
(function () {
  "use strict";
  const CB = (window.CB = window.CB || {});

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function inline(escaped) {
    const stash = [];
    const keep = function (html) { return "\u0000" + (stash.push(html) - 1) + "\u0000"; };
    let s = escaped.replace(/`([^`\n]+)`/g, function (m, code) { return keep("<code>" + code + "</code>"); });
    s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s()<>]+)\)/g, function (m, label, url) {
      return keep('<a href="' + url + '" target="_blank" rel="noopener noreferrer">' + label + "</a>");
    });
    // Bare web addresses become links too (the escaped text cannot hold a quote or angle bracket to break out).
    s = s.replace(/https?:\/\/[^\s<>"'\u0000]+/g, function (url) {
      const cut = url.search(/&(?:quot|#39|lt|gt);/);
      let link = cut >= 0 ? url.slice(0, cut) : url;
      const rest = url.slice(link.length);
      const trail = /[.,!?:;)]+$/.exec(link);
      const tail = trail ? trail[0] : "";
      link = link.slice(0, link.length - tail.length);
      return keep('<a href="' + link + '" target="_blank" rel="noopener noreferrer">' + link + "</a>") + tail + rest;
    });
    s = s.replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>");
    s = s.replace(/\*([^*\n]+)\*/g, "<em>$1</em>");
    s = s.replace(/(^|[\s(])_([^_\n]+)_(?=[\s).,!?:;]|$)/g, "$1<em>$2</em>");
    return s.replace(/\u0000(\d+)\u0000/g, function (m, i) { return stash[Number(i)]; });
  }

  function list(lines, ordered) {
    const tag = ordered ? "ol" : "ul";
    const items = lines.map(function (line) {
      return "<li>" + inline(escapeHtml(line.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, ""))) + "</li>";
    });
    return "<" + tag + ">" + items.join("") + "</" + tag + ">";
  }

  function kindOf(line) {
    if (/^\s*[-*+]\s+/.test(line)) return "ul";
    if (/^\s*\d+[.)]\s+/.test(line)) return "ol";
    return /^#{1,6}\s+/.test(line) ? "h" : "p";
  }

  // A block is cut into runs of the same kind, so "Options:" followed by "- a" / "- b" is a line and a list.
  function block(chunk) {
    const lines = chunk.split("\n").filter(function (line) { return line.trim() !== ""; });
    const out = [];
    let run = [], kind = "";
    const flush = function () {
      if (!run.length) return;
      if (kind === "ul" || kind === "ol") out.push(list(run, kind === "ol"));
      else if (kind === "h") run.forEach(function (l) { out.push("<p><strong>" + inline(escapeHtml(l.replace(/^#{1,6}\s+/, ""))) + "</strong></p>"); });
      else out.push("<p>" + run.map(function (l) { return inline(escapeHtml(l)); }).join("<br>") + "</p>");
      run = [];
    };
    lines.forEach(function (line) {
      const next = kindOf(line);
      if (next !== kind || next === "h") { flush(); kind = next; }
      run.push(line);
    });
    flush();
    return out.join("");
  }

  function paragraphs(text) {
    return text.split(/\n{2,}/).map(block).join("");
  }

  /** Render Markdown text to an HTML string that is safe to assign to innerHTML. */
  CB.markdown = function (text) {
    const source = String(text || "").replace(/\u0000/g, "").replace(/\r\n?/g, "\n");
    const fence = /```[\w+-]*[^\S\n]*\n?([\s\S]*?)(?:```|$)/g;
    const out = [];
    let last = 0, match;
    while ((match = fence.exec(source)) !== null) {
      out.push(paragraphs(source.slice(last, match.index)));
      out.push("<pre><code>" + escapeHtml(match[1].replace(/\n$/, "")) + "</code></pre>");
      last = fence.lastIndex;
      if (last >= source.length) break;
    }
    out.push(paragraphs(source.slice(last)));
    return out.join("");
  };
  CB.escapeHtml = escapeHtml;
})();
