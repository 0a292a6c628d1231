/*! Assured uploader: uploads files through an Assured upload link, or with a v3 create
 * response, showing each file's progress and outcome in words. No dependencies.
 *
 *   AssuredUpload.mount(element, {link: linkUrl})      // the url of an upload link
 *   AssuredUpload.mount(element, {upload: createResponse, file: optionalFile})
 *
 * Elements with a data-assured-link attribute are mounted by themselves when the script loads.
 */
(function (global) {
  "use strict";

  var EXTENSIONS = {
    pdf: "application/pdf", txt: "text/plain", text: "text/plain", png: "image/png",
    jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", bmp: "image/bmp",
    tif: "image/tiff", tiff: "image/tiff"
  };
  var TYPE_WORDS = {
    "application/pdf": "PDF", "text/plain": "text (.txt)", "image/png": "PNG",
    "image/jpeg": "JPEG", "image/webp": "WebP", "image/bmp": "BMP", "image/tiff": "TIFF"
  };
  // Every reason a file can be refused, in the words a person understands.
  var REASONS = {
    CONTENT_MISMATCH: "its contents are not what its name says (for example a picture renamed to .pdf), or the file is damaged",
    FILE_TOO_LARGE: "it is larger than the maximum size",
    MALWARE_DETECTED: "a virus scan found something harmful in it",
    ACTIVE_CONTENT: "it is a PDF that contains scripts or other active content, which is not accepted",
    IMAGE_TOO_LARGE: "the picture has too many pixels",
    UNSCANNABLE: "it could not be checked for viruses (it may be too large)",
    INVALID_CONTENT_TYPE: "this kind of file is not accepted here",
    INVALID_FILENAME: "its name cannot be used (rename the file and try again)",
    LINK_USED: "this link has already received all the files it accepts",
    LINK_EXPIRED: "this link has expired or has been withdrawn",
    NOT_FOUND: "this link does not exist",
    RATE_LIMITED: "too many attempts in a short time; wait a minute and try again",
    EMPTY: "the file is empty",
    EntityTooLarge: "it is larger than the maximum size",
    EntityTooSmall: "the file is empty",
    InvalidContent: "its contents are not what its name says (for example a picture renamed to .pdf), or the file is damaged",
    AccessDenied: "the upload was refused (the time allowed for it may have run out); try again",
    NETWORK: "the connection was lost; check your internet connection and try again",
    PENDING: "it was received but could not be checked yet; ask whoever sent you the link whether it arrived"
  };
  var POLL_MS = 1000;
  var POLL_LIMIT = 180; // a store that only the server's sweep settles can take minutes
  var counter = 0;

  function contentTypeOf(file) {
    var dot = file.name.lastIndexOf(".");
    var ext = dot >= 0 ? file.name.slice(dot + 1).toLowerCase() : "";
    return EXTENSIONS[ext] || file.type || "application/octet-stream";
  }

  function sizeWords(size) {
    var units = ["bytes", "KB", "MB", "GB"];
    var value = size;
    for (var i = 0; i < units.length; i++) {
      if (value < 1024 || i === units.length - 1) {
        return (i === 0 || value >= 10 ? Math.round(value) : value.toFixed(1)) + " " + units[i];
      }
      value /= 1024;
    }
    return size + " bytes";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // text only: names are never markup
    return node;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // JSON from a response; an error's body is the contract's {code, detail, ...}.
  function readJson(response) {
    return response.text().then(function (text) {
      try { return text ? JSON.parse(text) : {}; } catch (e) { return {}; }
    });
  }

  function Failure(code, detail) {
    this.code = code;
    this.detail = detail || "";
  }

  function apiCall(url, init) {
    return fetch(url, init).then(function (response) {
      return readJson(response).then(function (body) {
        if (response.status === 429) {
          var wait = parseInt(response.headers.get("Retry-After") || "1", 10);
          return sleep(Math.min(60, Math.max(1, wait)) * 1000).then(function () {
            return apiCall(url, init);
          });
        }
        if (!response.ok) throw new Failure(body.code || "HTTP_" + response.status, body.detail);
        return body;
      });
    }, function () { throw new Failure("NETWORK"); });
  }

  // POST the pre-signed form with the file; progress(fraction) while the bytes go.
  function postForm(ticket, file, progress) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(ticket.fields).forEach(function (name) { form.append(name, ticket.fields[name]); });
      form.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", ticket.uploadUrl);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable && event.total > 0) progress(event.loaded / event.total);
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          progress(1);
          resolve();
          return;
        }
        var match = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || "");
        reject(new Failure(match ? match[1] : "HTTP_" + xhr.status));
      };
      xhr.onerror = function () { reject(new Failure("NETWORK")); };
      xhr.send(form);
    });
  }

  function reasonWords(code, context) {
    var words = REASONS[code] || "it was not accepted (" + code + ")";
    if ((code === "FILE_TOO_LARGE" || code === "EntityTooLarge") && context.maxSize) {
      words += " (" + sizeWords(context.maxSize) + ")";
    }
    if (code === "INVALID_CONTENT_TYPE" && context.types && context.types.length) {
      words += "; accepted: " + context.types.map(function (t) { return TYPE_WORDS[t] || t; }).join(", ");
    }
    return words;
  }

  function Uploader(root, options) {
    this.root = root;
    this.options = options || {};
    this.link = this.options.link ? String(this.options.link).replace(/\/+$/, "") : null;
    this.types = this.options.types || [];
    this.maxSize = this.options.maxSize || 0;
    this.remaining = typeof this.options.remaining === "number" ? this.options.remaining : Infinity;
    this.queue = [];
    this.busy = false;
    this.render();
  }

  Uploader.prototype.render = function () {
    var self = this;
    var id = "assured-upload-" + (++counter);
    var box = el("div", "au");
    var zone = el("div", "au-drop");
    var label = el("label", "au-pick-label", "Choose files to send");
    label.htmlFor = id;
    var input = el("input", "au-input");
    input.type = "file";
    input.id = id;
    if (this.link) input.multiple = true;
    var accept = [];
    Object.keys(EXTENSIONS).forEach(function (ext) {
      if (!self.types.length || self.types.indexOf(EXTENSIONS[ext]) >= 0) accept.push("." + ext);
    });
    input.accept = accept.join(",");
    var hint = el("p", "au-hint", "or drag and drop them into this box");
    zone.appendChild(label);
    zone.appendChild(input);
    zone.appendChild(hint);
    var list = el("ul", "au-list");
    list.setAttribute("aria-live", "polite");
    var notice = el("p", "au-notice");
    notice.setAttribute("role", "status");
    box.appendChild(zone);
    box.appendChild(notice);
    box.appendChild(list);
    this.root.appendChild(box);
    this.input = input;
    this.list = list;
    this.notice = notice;
    this.zone = zone;

    input.addEventListener("change", function () {
      self.add(input.files);
      input.value = "";
    });
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("au-over");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("au-over"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("au-over");
      if (event.dataTransfer && event.dataTransfer.files) self.add(event.dataTransfer.files);
    });
    if (this.remaining <= 0) this.close(REASONS.LINK_USED);
  };

  Uploader.prototype.close = function (why) {
    this.input.disabled = true;
    this.zone.classList.add("au-closed");
    this.notice.textContent = "No more files can be sent: " + why + ".";
  };

  Uploader.prototype.add = function (fileList) {
    for (var i = 0; i < fileList.length; i++) {
      var item = this.item(fileList[i]);
      this.queue.push({file: fileList[i], item: item});
    }
    this.next();
  };

  Uploader.prototype.item = function (file) {
    var li = el("li", "au-file");
    var name = el("span", "au-name", file.name);
    var size = el("span", "au-size", sizeWords(file.size));
    var bar = el("progress", "au-progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload progress of " + file.name);
    var state = el("span", "au-state", "Waiting");
    li.appendChild(name);
    li.appendChild(size);
    li.appendChild(bar);
    li.appendChild(state);
    this.list.appendChild(li);
    return {li: li, bar: bar, state: state};
  };

  Uploader.prototype.next = function () {
    var self = this;
    if (this.busy || !this.queue.length) return;
    this.busy = true;
    var job = this.queue.shift();
    this.send(job.file, job.item).then(function (outcome) {
      self.show(job.item, outcome);
      if (typeof self.options.onResult === "function") self.options.onResult(outcome);
      self.busy = false;
      self.next();
    });
  };

  Uploader.prototype.show = function (item, outcome) {
    item.li.classList.add(outcome.status === "available" ? "au-ok" : outcome.status === "uploaded" ? "au-sent" : "au-bad");
    if (outcome.status === "available") {
      item.bar.value = 100;
      item.state.textContent = "Available: received and checked.";
    } else if (outcome.status === "uploaded") {
      item.state.textContent = "Sent: the file reached storage.";
    } else {
      item.state.textContent = "Rejected: " + reasonWords(outcome.reason, this) + ".";
    }
  };

  // One file, start to end; resolves to {status: "available"|"uploaded"|"rejected", reason, file}.
  Uploader.prototype.send = function (file, item) {
    var self = this;
    var rejected = function (code) { return {status: "rejected", reason: code, file: null, name: file.name}; };
    if (!file.size) return Promise.resolve(rejected("EMPTY"));
    if (this.maxSize && file.size > this.maxSize) return Promise.resolve(rejected("FILE_TOO_LARGE"));
    item.state.textContent = "Starting";
    var ticketPromise;
    if (this.link) {
      ticketPromise = apiCall(this.link + "/files", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({fileName: file.name, contentType: contentTypeOf(file)})
      });
    } else if (this.options.upload) {
      ticketPromise = Promise.resolve(this.options.upload);
      this.options.upload = null; // a create response uploads one file only
    } else {
      return Promise.resolve(rejected("LINK_USED"));
    }
    var ticket = null;
    return ticketPromise.then(function (created) {
      ticket = created;
      if (self.link) {
        self.remaining -= 1;
        // The hosted page says how many more files the link takes: keep it true.
        var shown = document.querySelector(".au-remaining");
        if (shown && self.remaining >= 0) shown.textContent = String(self.remaining);
        if (self.remaining <= 0) self.close(REASONS.LINK_USED);
      }
      item.state.textContent = "Uploading 0%";
      return postForm(created, file, function (fraction) {
        var percent = Math.round(fraction * 100);
        item.bar.value = percent;
        item.state.textContent = "Uploading " + percent + "%";
      });
    }).then(function () {
      item.state.textContent = "Checking";
      return self.outcome(ticket, null);
    }, function (failure) {
      if (!(failure instanceof Failure)) failure = new Failure("NETWORK");
      if (failure.code === "LINK_USED" || failure.code === "LINK_EXPIRED" || failure.code === "NOT_FOUND") {
        self.close(REASONS[failure.code]);
      }
      if (!ticket) return rejected(failure.code);
      return self.outcome(ticket, failure.code);
    }).then(function (outcome) {
      outcome.name = file.name;
      return outcome;
    });
  };

  // The file's final state, asked of the link's API (or, for a v3 create response, of the
  // integrator's checkStatus function); ``failed``: the storage's error code, if any.
  Uploader.prototype.outcome = function (ticket, failed) {
    var self = this;
    var check = null;
    if (this.link) {
      check = function () { return apiCall(self.link + "/files/" + encodeURIComponent(ticket.id), {}); };
    } else if (typeof this.options.checkStatus === "function") {
      check = function () { return Promise.resolve(self.options.checkStatus(ticket.id)); };
    }
    if (!check) {
      return Promise.resolve(failed ? {status: "rejected", reason: failed, file: ticket.file}
        : {status: "uploaded", reason: null, file: ticket.file});
    }
    var attempt = 0;
    function poll() {
      return check().then(function (file) {
        if (file.status === "available") return {status: "available", reason: null, file: file};
        if (file.status === "rejected" || file.status === "expired") {
          return {status: "rejected", reason: file.rejectionReason || failed || "CONTENT_MISMATCH", file: file};
        }
        // Still pending: an upload the storage refused never arrives, one it took will settle.
        if (failed) return {status: "rejected", reason: failed, file: file};
        attempt += 1;
        if (attempt >= POLL_LIMIT) return {status: "rejected", reason: "PENDING", file: file};
        return sleep(POLL_MS).then(poll);
      }, function (failure) {
        return {status: "rejected", reason: failed || failure.code, file: null};
      });
    }
    return poll();
  };

  function mount(element, options) {
    return new Uploader(element, options);
  }

  function fromData(element) {
    var types = (element.getAttribute("data-types") || "").split(/\s+/).filter(Boolean);
    var remaining = parseInt(element.getAttribute("data-remaining") || "", 10);
    return mount(element, {
      link: element.getAttribute("data-assured-link"),
      types: types,
      maxSize: parseInt(element.getAttribute("data-max-size") || "0", 10) || 0,
      remaining: isNaN(remaining) ? undefined : remaining
    });
  }

  // Types and sizes given to the uploader only spare a person a wasted upload: the server
  // checks everything again.
  global.AssuredUpload = {mount: mount, contentTypeOf: contentTypeOf, reasonWords: function (code) {
    return reasonWords(code, {});
  }};

  function auto() {
    var nodes = document.querySelectorAll("[data-assured-link]");
    for (var i = 0; i < nodes.length; i++) fromData(nodes[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", auto);
  else auto();
})(window);
