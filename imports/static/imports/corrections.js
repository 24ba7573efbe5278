/*
 * The job page's rows with problems, as an editable table.
 *
 * [data-corrections] names two API URLs (read with the admin's session):
 * data-rows-url, GET /api/imports/<id>/corrections/?page=N (the failed rows,
 * a page at a time: the file's own columns, each row's problems), and
 * data-check-url, POST /api/imports/<id>/corrections/check/ (rows with the
 * user's corrections laid over them, checked with the importer's rules).
 *
 * Only one page of rows (PAGE_SIZE) is in the DOM at a time, so thousands of
 * failed rows never freeze the page; a pager (first, previous, next, last)
 * sits above and below the table. The user's corrections (row -> column ->
 * text) live in memory and in sessionStorage, so they survive paging and a
 * reload; each change is re-checked a moment after typing stops, and the
 * cell or row shows what is still wrong, or that the row is ready.
 *
 * Keyboard: Tab / Shift+Tab move between cells (the browser's own order),
 * Enter / Shift+Enter to the same column in the row below / above (across
 * pages), Escape puts the cell back as it was when it got the focus.
 *
 * The form under the table sends the corrections as JSON (a hidden input)
 * to "Import the corrected rows" (an admin view: a check of the rows, then
 * the usual preview and import) or to the CSV / Excel download.
 */
(function () {
  "use strict";

  var PAGE_SIZE = 50;
  var CHECK_DELAY_MS = 400;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] !== null && attrs[name] !== undefined) node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // 2500 -> "2,500": the number style of every other figure on these pages.
  function thousands(number) {
    return String(number).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function Corrections(root) {
    this.root = root;
    this.rowsUrl = root.getAttribute("data-rows-url");
    this.checkUrl = root.getAttribute("data-check-url");
    this.storageKey = "mtc-corrections-" + root.getAttribute("data-job");
    this.grid = root.querySelector("[data-corrections-grid]");
    this.form = root.querySelector("[data-corrections-form]");
    this.input = root.querySelector("[data-corrections-input]");
    this.status = root.querySelector("[data-corrections-status]");
    this.importButton = root.querySelector("[data-corrections-import]");
    this.discardButton = root.querySelector("[data-corrections-discard]");
    this.csrf = this.form.querySelector("[name=csrfmiddlewaretoken]").value;
    this.edits = this.load();      // row number -> {header: text}
    this.checked = {};              // row number -> {ok, problems} after the last check
    this.rows = {};                 // row number -> the row as the server sent it (this page)
    this.timers = {};
    this.page = 1;
    this.pages = 1;
    this.columns = [];
    this.fields = {};
  }

  Corrections.prototype.load = function () {
    try {
      return JSON.parse(window.sessionStorage.getItem(this.storageKey) || "{}") || {};
    } catch (error) {
      return {};
    }
  };

  Corrections.prototype.save = function () {
    try {
      window.sessionStorage.setItem(this.storageKey, JSON.stringify(this.edits));
    } catch (error) { /* private mode: corrections then live only as long as the page */ }
  };

  Corrections.prototype.start = function () {
    var self = this;
    this.form.addEventListener("submit", function (event) { self.beforeSubmit(event); });
    this.discardButton.addEventListener("click", function () { self.discard(); });
    this.grid.addEventListener("keydown", function (event) { self.onKey(event); });
    this.grid.addEventListener("input", function (event) { self.onInput(event); });
    this.grid.addEventListener("focusin", function (event) {
      if (event.target.tagName === "INPUT") event.target.setAttribute("data-before", event.target.value);
    });
    return this.show(1).then(function () {
      var plain = self.root.parentNode.querySelector("[data-static-errors]");
      if (plain) plain.hidden = true;
      self.root.querySelector("[data-corrections-help]").hidden = false;
      self.grid.hidden = false;
      self.form.hidden = false;
      self.summarise();
    });
  };

  Corrections.prototype.fetchJson = function (url, body) {
    var options = { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = this.csrf;
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.detail || "HTTP " + response.status);
        return data;
      });
    });
  };

  Corrections.prototype.show = function (page, focus) {
    var self = this;
    var url = this.rowsUrl + "?page=" + page + "&page_size=" + PAGE_SIZE;
    return this.fetchJson(url).then(function (data) {
      self.page = page;
      self.pages = Math.max(1, Math.ceil(data.count / PAGE_SIZE));
      self.count = data.count;
      self.columns = data.columns;
      self.fields = data.fields;
      self.rows = {};
      data.results.forEach(function (row) { self.rows[row.row_number] = row; });
      self.render(data.results);
      var unchecked = data.results.filter(function (row) {
        return self.edits[row.row_number] && !self.checked[row.row_number];
      });
      if (unchecked.length) self.check(unchecked.map(function (row) { return row.row_number; }));
      if (focus) self.focusCell(focus.index, focus.column);
    });
  };

  Corrections.prototype.render = function (results) {
    var self = this;
    var table = el("table", { "class": "import-corrections__table" });
    var head = el("thead");
    var titles = el("tr");
    var lines = results.some(function (row) { return row.line_number; });
    if (lines) titles.appendChild(el("th", { scope: "col", "class": "import-corrections__line", title: "The line number your spreadsheet program shows" }, "Line in your sheet"));
    titles.appendChild(el("th", { scope: "col", title: "Counting the first row after the column names as 1" }, "Row"));
    this.columns.forEach(function (header) {
      var th = el("th", { scope: "col" }, header);
      var field = self.fields[header];
      if (field && field !== header) th.appendChild(el("span", { "class": "import-corrections__field" }, field));
      if (!field) th.appendChild(el("span", { "class": "import-corrections__field" }, "ignored"));
      titles.appendChild(th);
    });
    titles.appendChild(el("th", { scope: "col" }, "Problems"));
    head.appendChild(titles);
    table.appendChild(head);
    var body = el("tbody");
    results.forEach(function (row, index) {
      var tr = el("tr", { "data-row": row.row_number });
      if (lines) tr.appendChild(el("td", { "class": "import-errors__line" }, row.line_number ? String(row.line_number) : "–"));
      tr.appendChild(el("th", { scope: "row", "class": "import-errors__row" }, String(row.row_number)));
      self.columns.forEach(function (header, column) {
        var td = el("td", { "data-column": header });
        var value = self.value(row.row_number, header);
        var input = el("input", {
          type: "text",
          value: value,
          "data-index": index,
          "data-col": column,
          "aria-label": "Row " + row.row_number + ", " + header,
          spellcheck: "false",
          autocomplete: "off"
        });
        input.value = value;
        td.appendChild(input);
        td.appendChild(el("span", { "class": "import-corrections__reason", id: "reason-" + row.row_number + "-" + column }));
        tr.appendChild(td);
      });
      tr.appendChild(el("td", { "class": "import-corrections__problems" }));
      body.appendChild(tr);
      self.paint(row.row_number, tr);
    });
    table.appendChild(body);
    var wrap = el("div", { "class": "import-table-wrap" });
    wrap.appendChild(table);
    this.grid.textContent = "";
    // The pager above and below the table: with thousands of rows, neither end is far from a pager.
    if (this.pages > 1) this.grid.appendChild(this.pager("top"));
    this.grid.appendChild(wrap);
    if (this.pages > 1) this.grid.appendChild(this.pager("bottom"));
  };

  Corrections.prototype.pager = function (where) {
    var self = this;
    var nav = el("nav", {
      "class": "paginator import-pages import-pages--" + where,
      "aria-label": "Pages of rows with problems" + (where === "top" ? "" : " (below the table)"),
      "data-pager": where
    });
    var moves = [
      ["first", "\u00ab First", 1, this.page <= 1],
      ["previous", "\u2039 Previous", this.page - 1, this.page <= 1],
      ["next", "Next \u203a", this.page + 1, this.page >= this.pages],
      ["last", "Last \u00bb", this.pages, this.page >= this.pages]
    ];
    moves.forEach(function (move, index) {
      var button = el("button", { type: "button", "class": "button", "data-page": move[0] }, move[1]);
      button.disabled = move[3];
      button.addEventListener("click", function () { self.show(move[2]); });
      nav.appendChild(button);
      if (index === 1) {
        nav.appendChild(el("span", {}, "Page " + thousands(self.page) + " of " + thousands(self.pages) +
          " (" + thousands(self.count) + " rows)"));
      }
    });
    return nav;
  };

  Corrections.prototype.value = function (rowNumber, header) {
    var edits = this.edits[rowNumber];
    if (edits && Object.prototype.hasOwnProperty.call(edits, header)) return edits[header];
    var row = this.rows[rowNumber];
    return row && row.values[header] !== undefined ? row.values[header] : "";
  };

  Corrections.prototype.problemsOf = function (rowNumber) {
    if (this.checked[rowNumber]) return this.checked[rowNumber].problems;
    var row = this.rows[rowNumber];
    return row ? row.problems : [];
  };

  // Highlight the cells with a problem (with its reason) and say what is left of the row.
  Corrections.prototype.paint = function (rowNumber, tr) {
    tr = tr || this.grid.querySelector('tr[data-row="' + rowNumber + '"]');
    if (!tr) return;
    var self = this;
    var problems = this.problemsOf(rowNumber);
    var byColumn = {};
    var rowWide = [];
    problems.forEach(function (problem) {
      if (problem.column && self.columns.indexOf(problem.column) >= 0) {
        (byColumn[problem.column] = byColumn[problem.column] || []).push(problem.reason);
      } else {
        rowWide.push(problem.reason);
      }
    });
    var edits = this.edits[rowNumber] || {};
    this.columns.forEach(function (header, column) {
      var td = tr.querySelector('td[data-column="' + CSS.escape(header) + '"]');
      var input = td.querySelector("input");
      var reason = td.querySelector(".import-corrections__reason");
      var reasons = byColumn[header];
      td.classList.toggle("is-problem", !!reasons);
      td.classList.toggle("is-edited", Object.prototype.hasOwnProperty.call(edits, header));
      reason.textContent = reasons ? reasons.join("; ") : "";
      if (reasons) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", "reason-" + rowNumber + "-" + column);
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    });
    var cell = tr.querySelector(".import-corrections__problems");
    var state = this.checked[rowNumber];
    tr.classList.toggle("is-ready", !!(state && state.ok && this.edits[rowNumber]));
    if (state && state.ok && this.edits[rowNumber]) {
      cell.textContent = "Ready to import";
    } else if (state && state.pending) {
      cell.textContent = "Checking\u2026";
    } else {
      cell.textContent = rowWide.join("; ");
    }
  };

  Corrections.prototype.onInput = function (event) {
    var input = event.target;
    if (input.tagName !== "INPUT") return;
    var tr = input.closest("tr");
    var rowNumber = Number(tr.getAttribute("data-row"));
    var header = this.columns[Number(input.getAttribute("data-col"))];
    var original = this.rows[rowNumber].values[header];
    var edits = this.edits[rowNumber] || {};
    if (input.value === (original === undefined ? "" : original)) {
      delete edits[header];
    } else {
      edits[header] = input.value;
    }
    if (Object.keys(edits).length) {
      this.edits[rowNumber] = edits;
    } else {
      delete this.edits[rowNumber];
    }
    this.save();
    this.summarise();
    this.scheduleCheck(rowNumber);
  };

  Corrections.prototype.scheduleCheck = function (rowNumber) {
    var self = this;
    window.clearTimeout(this.timers[rowNumber]);
    this.checked[rowNumber] = { ok: false, pending: true, problems: this.problemsOf(rowNumber) };
    this.paint(rowNumber);
    this.timers[rowNumber] = window.setTimeout(function () { self.check([rowNumber]); }, CHECK_DELAY_MS);
  };

  Corrections.prototype.check = function (rowNumbers) {
    var self = this;
    var body = rowNumbers.map(function (rowNumber) {
      return { row_number: rowNumber, values: self.edits[rowNumber] || {} };
    });
    var sent = JSON.stringify(body);
    return this.fetchJson(this.checkUrl, body).then(function (data) {
      if (JSON.stringify(rowNumbers.map(function (n) { return { row_number: n, values: self.edits[n] || {} }; })) !== sent) {
        return; // typed again meanwhile: a newer check is on its way
      }
      data.rows.forEach(function (row) {
        self.checked[row.row_number] = { ok: row.ok, problems: row.problems };
        self.paint(row.row_number);
      });
      self.summarise();
    }).catch(function (error) {
      self.status.textContent = "The corrections could not be checked: " + error.message;
    });
  };

  Corrections.prototype.summarise = function () {
    var self = this;
    var corrected = Object.keys(this.edits);
    var ready = corrected.filter(function (n) { return self.checked[n] && self.checked[n].ok; }).length;
    var wrong = corrected.filter(function (n) { return self.checked[n] && !self.checked[n].ok && !self.checked[n].pending; }).length;
    var text;
    if (!corrected.length) {
      text = "No rows corrected yet.";
    } else {
      text = corrected.length + " row" + (corrected.length === 1 ? "" : "s") + " corrected: " + ready + " ready to import";
      if (wrong) text += ", " + wrong + " still with problems";
      text += ".";
    }
    this.status.textContent = text;
    this.importButton.disabled = !corrected.length;
    this.discardButton.disabled = !corrected.length;
    this.input.value = JSON.stringify(corrected.map(function (n) {
      return { row_number: Number(n), values: self.edits[n] };
    }));
  };

  Corrections.prototype.beforeSubmit = function (event) {
    var submitter = event.submitter;
    this.summarise();
    if (submitter && submitter.hasAttribute("data-corrections-download")) return;
    var self = this;
    var wrong = Object.keys(this.edits).filter(function (n) { return self.checked[n] && !self.checked[n].ok; }).length;
    if (wrong && !window.confirm(wrong + " of the corrected rows still have problems and will be refused again. Import anyway?")) {
      event.preventDefault();
      return;
    }
    // The rows go on to a check of their own (and its preview): this page's copy is done with.
    try { window.sessionStorage.removeItem(this.storageKey); } catch (error) { /* nothing kept */ }
    window.setTimeout(function () {
      self.importButton.disabled = true;
      self.importButton.textContent = "Checking the corrected rows\u2026";
    }, 0);
  };

  Corrections.prototype.discard = function () {
    if (!window.confirm("Discard your corrections? The rows go back to how they were in the file.")) return;
    this.edits = {};
    this.checked = {};
    this.save();
    this.show(this.page);
    this.summarise();
  };

  Corrections.prototype.focusCell = function (index, column) {
    var input = this.grid.querySelector('input[data-index="' + index + '"][data-col="' + column + '"]');
    if (input) {
      input.focus();
      input.select();
    }
  };

  Corrections.prototype.onKey = function (event) {
    var input = event.target;
    if (input.tagName !== "INPUT") return;
    var index = Number(input.getAttribute("data-index"));
    var column = Number(input.getAttribute("data-col"));
    var rowsHere = Object.keys(this.rows).length;
    if (event.key === "Escape") {
      var before = input.getAttribute("data-before");
      if (before !== null && before !== input.value) {
        input.value = before;
        input.dispatchEvent(new Event("input", { bubbles: true }));
      }
      event.preventDefault();
    } else if (event.key === "Enter") {
      event.preventDefault(); // never submit the form from a cell
      var down = !event.shiftKey;
      var target = index + (down ? 1 : -1);
      if (target >= 0 && target < rowsHere) {
        this.focusCell(target, column);
      } else if (down && this.page < this.pages) {
        this.show(this.page + 1, { index: 0, column: column });
      } else if (!down && this.page > 1) {
        this.show(this.page - 1, { index: PAGE_SIZE - 1, column: column });
      }
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-corrections]").forEach(function (root) {
      new Corrections(root).start().catch(function () {
        /* the API could not be read: the page keeps its plain table of rows with problems */
      });
    });
  });
})();
