/*
 * latepoint_forms embeddable widget (SPEC section 10), version __LATEPOINT_WIDGET_VERSION__.
 *
 * Paste on any page:
 *   <script src="https://HOST/widget.js" defer></script>
 *   <div data-latepoint-widget data-key="pk_live_…" data-flow="booking"></div>
 * data-flow: "booking" (service → place and person → day and time → details → done) or
 * "register" (the customer form → done); optional data-service and data-location (an id or
 * key from the catalog), data-lang (the widget's language, sent as Accept-Language; a
 * WordPress-style "de_DE" is read as "de-DE", an invalid tag is ignored; without one, the
 * language of the page around the element: its closest [lang], usually <html lang>) and
 * data-mode="popup" (a button that opens the widget in a dialog).
 *
 * Plain JavaScript, no framework and nothing inline: it renders into an open shadow root
 * styled by a constructable stylesheet fetched from our own host (so a host page whose CSP
 * allows only this host in script-src and connect-src works, and no style leaks either
 * way). Every limit an input carries comes from GET /api/v1/form, derived on the server
 * from the rules: none is written here. The server's per-field errors are placed beside
 * their inputs. Success dispatches latepoint:booked / latepoint:registered on the element.
 */
(function () {
  "use strict";

  var VERSION = "__LATEPOINT_WIDGET_VERSION__";
  var own = document.currentScript;
  var SOURCE = own && own.src ? own.src : "";
  // The API lives where this script came from (…/widget.js or …/widget/<version>.js).
  var BASE = SOURCE.replace(/\/widget(?:\/[^/?#]+)?\.js(?:[?#].*)?$/, "");
  var API = BASE + "/api/v1";
  var STYLES_URL = BASE + "/widget/" + VERSION + ".css";
  var counter = 0;

  // Every available language's words, written in by the server (web/widget_text.py):
  // {language: {key: template | {plural category: template}}}, "%(name)s" to fill in.
  var TEXTS = /*__LATEPOINT_WIDGET_TEXT__*/ {};
  var SOURCE_LANGUAGE = "en"; // the API's language when it is offered none of its own
  // The booking flow's steps, as its progress list names them.
  var STEPS = ["stepService", "stepPlace", "stepTime", "stepDetails", "stepDone"];

  // --- small helpers --------------------------------------------------------------------

  function h(tag, props, children) {
    var element = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      var value = props[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") element.textContent = value;
      else if (name.slice(0, 2) === "on") element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      element.append(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return element;
  }

  function randomKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return b.toString(16).padStart(2, "0");
      })
      .join("");
  }

  function byIdOrKey(items, wanted) {
    if (!wanted) return null;
    return (
      items.find(function (item) {
        return String(item.id) === wanted || item.key === wanted;
      }) || null
    );
  }

  // A BCP 47 tag the browser's Intl accepts, or "" (Intl.DateTimeFormat("de_DE") throws a
  // RangeError, and a header value with "_" is not CORS-safelisted): "de_DE" becomes "de-DE".
  function languageTag(raw) {
    var tag = String(raw || "").trim().replace(/_/g, "-");
    if (!tag) return "";
    try {
      return Intl.getCanonicalLocales(tag)[0] || "";
    } catch (error) {
      console.warn("latepoint widget: ignoring the language tag " + JSON.stringify(raw));
      return "";
    }
  }

  // data-lang, else the language of the page around the element (its closest [lang]).
  function widgetLanguage(host) {
    var own = languageTag(host.getAttribute("data-lang"));
    if (own) return own;
    var around = host.closest("[lang]");
    return around ? languageTag(around.getAttribute("lang")) : "";
  }

  // The language of the words for a BCP 47 tag: its own language's where there are words
  // for it ("de-CH" -> "de"), else English, as the API answers such a tag.
  function wordsLanguage(tag) {
    var base = String(tag || "").toLowerCase().split("-")[0];
    return TEXTS[base] ? base : SOURCE_LANGUAGE;
  }

  // Without a tag on or around the element, the browser's first language with words here
  // (sent as Accept-Language, so the API's messages are in it too); "" if none is.
  function browserLanguage() {
    var wanted = navigator.languages && navigator.languages.length
      ? navigator.languages
      : [navigator.language];
    for (var i = 0; i < wanted.length; i++) {
      var tag = languageTag(wanted[i]);
      if (tag && TEXTS[tag.toLowerCase().split("-")[0]]) return tag;
    }
    return "";
  }

  // "%(name)s" / "%(name)d" filled in: a list of strings and the values given (nodes too).
  function fillIn(template, values) {
    var parts = [];
    var pattern = /%\((\w+)\)[sd]/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(template))) {
      parts.push(template.slice(last, match.index));
      var value = values && values[match[1]];
      parts.push(value === undefined || value === null ? match[0] : value);
      last = pattern.lastIndex;
    }
    parts.push(template.slice(last));
    return parts.filter(function (part) {
      return part !== "";
    });
  }

  function strong(text) {
    return h("strong", { class: "lp-code", text: text });
  }

  // Today's date (YYYY-MM-DD) in a time zone, by the browser's clock; null if unknown.
  function todayIn(zone) {
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
      })
        .formatToParts(new Date())
        .forEach(function (part) {
          parts[part.type] = part.value;
        });
      return parts.year + "-" + parts.month + "-" + parts.day;
    } catch (error) {
      return null;
    }
  }

  function named(value) {
    return value && typeof value === "object" ? value.name : value;
  }

  // One stylesheet for every widget on the page, fetched once (connect-src) and adopted.
  var styles = null;
  function adoptStyles(root) {
    var constructable =
      "adoptedStyleSheets" in Document.prototype && "replaceSync" in CSSStyleSheet.prototype;
    if (!constructable) return Promise.resolve(linkStyles(root));
    if (!styles) {
      styles = fetch(STYLES_URL, { mode: "cors", credentials: "omit" })
        .then(function (response) {
          if (!response.ok) throw new Error("stylesheet: HTTP " + response.status);
          return response.text();
        })
        .then(function (text) {
          var sheet = new CSSStyleSheet();
          sheet.replaceSync(text);
          return sheet;
        });
    }
    return styles.then(
      function (sheet) {
        root.adoptedStyleSheets = [sheet];
      },
      function () {
        linkStyles(root); // works where the host's style-src allows this host
      }
    );
  }

  function linkStyles(root) {
    root.prepend(h("link", { rel: "stylesheet", href: STYLES_URL }));
  }

  // --- the widget -----------------------------------------------------------------------

  function Widget(host) {
    this.host = host;
    this.key = host.getAttribute("data-key") || "";
    this.flow = host.getAttribute("data-flow") === "register" ? "register" : "booking";
    // The tag sent as Accept-Language; the words' language; the locale dates are written in
    // and the root's lang (the tag where the words are its language's, else theirs).
    this.lang = widgetLanguage(host) || browserLanguage();
    this.words = wordsLanguage(this.lang);
    var own = this.lang && this.lang.toLowerCase().split("-")[0] === this.words;
    this.locale = own ? this.lang : this.words;
    this.plurals = new Intl.PluralRules(this.locale);
    this.popup = host.getAttribute("data-mode") === "popup";
    this.id = "lpw" + ++counter;
    this.inputs = []; // GET /form's inputs
    this.controls = {}; // name -> {spec, control, error}
    this.choice = { service: null, location: null, agent: null, date: null, slot: null };
    this.pending = null; // {body, key}: the Idempotency-Key of the last body sent
  }

  // The message of ``key`` in the widget's language (English where a language lacks it),
  // filled in; a plural message takes its form for ``values.num``.
  Widget.prototype.parts = function (key, values) {
    var template = (TEXTS[this.words] || {})[key];
    if (template === undefined) template = (TEXTS[SOURCE_LANGUAGE] || {})[key];
    if (template && typeof template === "object") {
      template = template[this.plurals.select(values.num)] || template.other;
    }
    return fillIn(typeof template === "string" ? template : key, values);
  };

  Widget.prototype.t = function (key, values) {
    return this.parts(key, values).join("");
  };

  Widget.prototype.mount = function () {
    this.shadow = this.host.attachShadow({ mode: "open" });
    var self = this;
    return adoptStyles(this.shadow).then(function () {
      self.build();
      return self.load();
    });
  };

  Widget.prototype.build = function () {
    var title = this.flow === "booking" ? this.t("bookingTitle") : this.t("registerTitle");
    var titleId = this.id + "-title";
    this.status = h("p", { class: "lp-status", role: "status", "aria-live": "polite" });
    this.alert = h("div", { class: "lp-alert", role: "alert", hidden: true });
    this.progress = this.flow === "booking" ? h("ol", { class: "lp-progress" }) : null;
    this.body = h("div", { class: "lp-body" });
    this.panel = h("section", { class: "lp-panel", "aria-labelledby": titleId }, [
      h("h2", { class: "lp-title", id: titleId, text: title }),
      this.progress,
      this.alert,
      this.body,
      this.status,
    ]);
    var root = h("div", { class: "lp-root", lang: this.locale });
    if (this.popup) {
      var self = this;
      this.dialog = h("dialog", { class: "lp-dialog", "aria-labelledby": titleId }, [
        this.panel,
        h("div", { class: "lp-dialog-actions" }, [
          h("button", {
            type: "button",
            class: "lp-button lp-secondary",
            text: this.t("close"),
            onclick: function () {
              self.dialog.close();
            },
          }),
        ]),
      ]);
      this.opener = h("button", {
        type: "button",
        class: "lp-button lp-open",
        "aria-haspopup": "dialog",
        text: this.t(this.flow === "booking" ? "bookingTitle" : "register"),
        onclick: function () {
          self.dialog.showModal();
          self.focusFirstControl();
        },
      });
      root.append(this.opener, this.dialog);
    } else {
      root.append(this.panel);
    }
    this.shadow.append(root);
  };

  Widget.prototype.focusFirstControl = function () {
    var first = this.body.querySelector("input, select, textarea, button");
    if (first) first.focus();
  };

  Widget.prototype.say = function (message) {
    this.status.textContent = message || "";
  };

  Widget.prototype.showAlert = function (message, retry) {
    this.alert.replaceChildren();
    if (!message) {
      this.alert.hidden = true;
      return;
    }
    this.alert.append(h("p", { text: message }));
    if (retry) {
      this.alert.append(
        h("button", { type: "button", class: "lp-button", text: this.t("retry"), onclick: retry })
      );
    }
    this.alert.hidden = false;
  };

  // --- talking to the API ---------------------------------------------------------------

  Widget.prototype.call = function (method, path, body) {
    var headers = { "X-API-Key": this.key, Accept: "application/json" };
    if (this.lang) headers["Accept-Language"] = this.lang;
    var options = { method: method, headers: headers, mode: "cors", credentials: "omit" };
    if (body !== undefined) {
      var text = JSON.stringify(body);
      // A retry of the same body (after a lost answer) must not book twice.
      if (!this.pending || this.pending.body !== text) {
        this.pending = { body: text, key: randomKey() };
      }
      headers["Content-Type"] = "application/json";
      headers["Idempotency-Key"] = this.pending.key;
      options.body = text;
    }
    var self = this;
    return fetch(API + path, options).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (json) {
            var result = {
              status: response.status,
              ok: response.ok,
              data: json && json.data,
              error: (json && json.error) || null,
              retryAfter: response.headers.get("Retry-After"),
            };
            if (body !== undefined && isFinal(result)) self.pending = null;
            return result;
          });
      },
      function () {
        // A refused origin looks the same from here (the browser hides the 403).
        console.error(
          "latepoint widget: no answer from " +
            API +
            " (offline, or this page's origin is not in the publishable key's --origins)"
        );
        return { status: 0, ok: false, data: null, error: null, network: true };
      }
    );
  };

  function isConflict(result) {
    return result.status === 409 && Boolean(result.error) && result.error.code === "idempotency_conflict";
  }

  // An answer the server keeps for its Idempotency-Key (a 2xx, and the 422/409 business
  // outcomes) or will never change: the next submit is a new request with a new key. No
  // answer, a 5xx, a 429 or "still in flight" may be retried under the same key.
  function isFinal(result) {
    if (result.network || result.status === 0) return false;
    if (result.status >= 500 || result.status === 429) return false;
    return !isConflict(result);
  }

  var CONFLICT_RETRIES = 4; // 409 idempotency_conflict: the first request is still running
  var CONFLICT_WAIT_MS = 1000;

  // A POST, retried (the same body, the same key) while the server says an earlier one with
  // its key is still in flight; the last answer if it never finishes in time.
  Widget.prototype.send = function (path, body) {
    var self = this;
    function attempt(left) {
      return self.call("POST", path, body).then(function (result) {
        if (!isConflict(result) || left <= 0) return result;
        self.say(self.t("stillWorking"));
        var wait = CONFLICT_WAIT_MS * (CONFLICT_RETRIES - left + 1);
        return new Promise(function (resolve) {
          setTimeout(resolve, wait);
        }).then(function () {
          return attempt(left - 1);
        });
      });
    }
    return attempt(CONFLICT_RETRIES);
  };

  Widget.prototype.problem = function (result) {
    if (isConflict(result)) return this.t("stillWorking");
    if (result.network) return this.t("network");
    if (result.status === 429) {
      var seconds = parseInt(result.retryAfter, 10);
      return seconds > 0 ? this.t("tooMany", { num: seconds }) : this.t("tooManyNoWait");
    }
    if (result.status === 401 || (result.error && result.error.code === "origin_not_allowed"))
      return this.t("refused");
    return (result.error && result.error.message) || this.t("network");
  };

  // --- loading ----------------------------------------------------------------------------

  Widget.prototype.load = function () {
    var self = this;
    this.showAlert(null);
    this.say(this.t("loading"));
    var wanted = [this.call("GET", "/form")];
    if (this.flow === "booking") wanted.push(this.call("GET", "/catalog"));
    return Promise.all(wanted).then(function (results) {
      var failed = results.find(function (r) {
        return !r.ok;
      });
      if (failed) {
        self.say("");
        self.showAlert(self.problem(failed), function () {
          self.load();
        });
        return;
      }
      self.say("");
      self.inputs = results[0].data.inputs;
      if (self.flow === "register") return self.showRegister();
      self.catalog = results[1].data;
      self.start();
    });
  };

  // --- the customer form (both flows) -----------------------------------------------------

  Widget.prototype.field = function (spec) {
    var id = this.id + "-" + spec.name.replace(/[^A-Za-z0-9_-]/g, "-");
    var required = spec.required || spec.required_on_web;
    var props = {
      id: id,
      name: spec.name,
      required: required,
      minlength: spec.minlength,
      maxlength: spec.maxlength,
      pattern: spec.pattern,
      min: spec.min,
      max: spec.max,
      step: spec.step,
      autocomplete: spec.autocomplete,
      placeholder: spec.placeholder,
    };
    Object.keys(spec.attributes || {}).forEach(function (name) {
      props[name] = spec.attributes[name];
    });
    var control;
    if (spec.input === "select") {
      control = h(
        "select",
        props,
        (spec.options || []).map(function (option) {
          return h("option", {
            value: option.value,
            text: option.label,
            selected: spec.value !== null && option.value === spec.value,
          });
        })
      );
    } else if (spec.input === "textarea") {
      control = h("textarea", props);
    } else {
      props.type = spec.input;
      if (spec.input !== "checkbox") props.value = spec.value;
      control = h("input", props);
    }
    var hint = spec.help_text
      ? h("p", { class: "lp-hint", id: id + "-hint", text: spec.help_text })
      : null;
    var error = h("p", { class: "lp-error", id: id + "-error", hidden: true });
    if (hint) control.setAttribute("aria-describedby", hint.id);
    var label = h("label", { for: id }, [
      spec.label,
      required ? null : h("span", { class: "lp-optional", text: " " + this.t("optional") }),
    ]);
    this.controls[spec.name] = { spec: spec, control: control, error: error, hint: hint };
    var kind = spec.input === "checkbox" ? "lp-field lp-check" : "lp-field";
    var parts = spec.input === "checkbox" ? [control, label] : [label, control];
    return h("div", { class: kind }, parts.concat([hint, error]));
  };

  Widget.prototype.customerFields = function (flow) {
    var self = this;
    this.controls = {};
    var mine = this.inputs.filter(function (spec) {
      return spec.flows.indexOf(flow) !== -1;
    });
    var main = mine.filter(function (spec) {
      return !spec.more;
    });
    var more = mine.filter(function (spec) {
      return spec.more;
    });
    var nodes = main.map(function (spec) {
      return self.field(spec);
    });
    if (more.length) {
      nodes.push(
        h(
          "details",
          { class: "lp-more" },
          [h("summary", { text: this.t("more") })].concat(
            more.map(function (spec) {
              return self.field(spec);
            })
          )
        )
      );
    }
    return nodes;
  };

  Widget.prototype.setError = function (name, message) {
    var entry = this.controls[name];
    if (!entry) return false;
    entry.error.textContent = message;
    entry.error.hidden = false;
    entry.control.setAttribute("aria-invalid", "true");
    var described = [entry.hint && entry.hint.id, entry.error.id].filter(Boolean).join(" ");
    entry.control.setAttribute("aria-describedby", described);
    var folded = entry.control.closest("details");
    if (folded) folded.open = true;
    return true;
  };

  Widget.prototype.clearErrors = function () {
    var self = this;
    Object.keys(this.controls).forEach(function (name) {
      var entry = self.controls[name];
      entry.error.hidden = true;
      entry.error.textContent = "";
      entry.control.removeAttribute("aria-invalid");
      if (entry.hint) entry.control.setAttribute("aria-describedby", entry.hint.id);
      else entry.control.removeAttribute("aria-describedby");
    });
    this.showAlert(null);
  };

  Widget.prototype.focusFirstError = function () {
    var self = this;
    var name = Object.keys(this.controls).find(function (key) {
      return !self.controls[key].error.hidden;
    });
    if (name) this.controls[name].control.focus();
  };

  // Whether the browser's own check refuses a control. For email and url inputs its idea of
  // the type is not the server's (an address such as "jörg@example.com" is refused by the
  // browser, allowed by the rules with SMTPUTF8): a type mismatch alone is left to the
  // server, whose message lands beside the field; required, lengths and pattern still count.
  var OTHER_FLAWS = [
    "valueMissing",
    "patternMismatch",
    "tooLong",
    "tooShort",
    "rangeUnderflow",
    "rangeOverflow",
    "stepMismatch",
    "badInput",
    "customError",
  ];
  function refused(control) {
    var validity = control.validity;
    if (validity.valid) return false;
    if (!validity.typeMismatch || (control.type !== "email" && control.type !== "url")) {
      return true;
    }
    return OTHER_FLAWS.some(function (flaw) {
      return validity[flaw];
    });
  }

  // The browser's own check of the constraints GET /form published.
  Widget.prototype.checkFields = function () {
    var self = this;
    this.clearErrors();
    var valid = true;
    Object.keys(this.controls).forEach(function (name) {
      var control = self.controls[name].control;
      if (refused(control)) {
        self.setError(name, control.validationMessage);
        valid = false;
      }
    });
    if (!valid) {
      this.showAlert(this.t("fixFields"));
      this.focusFirstError();
    }
    return valid;
  };

  Widget.prototype.customerBody = function () {
    var self = this;
    var body = {};
    var custom = {};
    Object.keys(this.controls).forEach(function (name) {
      var entry = self.controls[name];
      var value;
      if (entry.spec.input === "checkbox") {
        if (!entry.control.checked) return; // unticked: not given
        value = true;
      } else {
        value = entry.control.value;
        if (value.trim() === "") return;
        if (entry.spec.json_type === "number" && isFinite(Number(value))) value = Number(value);
      }
      if (name.indexOf("custom_fields.") === 0) custom[name.slice("custom_fields.".length)] = value;
      else body[name] = value;
    });
    if (Object.keys(custom).length) body.custom_fields = custom;
    return body;
  };

  // Place the server's details beside their inputs; what names no input goes in the alert.
  Widget.prototype.placeErrors = function (result, prefix) {
    var self = this;
    var details = (result.error && result.error.details) || {};
    var elsewhere = [];
    Object.keys(details).forEach(function (key) {
      var name = prefix && key.indexOf(prefix) === 0 ? key.slice(prefix.length) : key;
      if (!self.setError(name, details[key])) elsewhere.push(details[key]);
    });
    var placed = Object.keys(details).length - elsewhere.length;
    var message = elsewhere.length
      ? elsewhere.join(" ")
      : placed
        ? this.t("fixFields")
        : this.problem(result);
    this.showAlert(message);
    this.focusFirstError();
  };

  Widget.prototype.emit = function (name, detail) {
    var event = new CustomEvent(name, { detail: detail, bubbles: true, composed: true });
    this.host.dispatchEvent(event);
  };

  Widget.prototype.step = function (title, nodes, focus) {
    var heading = h("h3", { class: "lp-step-title", tabindex: "-1", text: title });
    this.body.replaceChildren(heading);
    var self = this;
    nodes.forEach(function (node) {
      if (node) self.body.append(node);
    });
    if (focus !== false) heading.focus();
  };

  Widget.prototype.actions = function (back, submitText) {
    var self = this;
    return h("div", { class: "lp-actions" }, [
      back
        ? h("button", {
            type: "button",
            class: "lp-button lp-secondary",
            text: this.t("back"),
            onclick: function () {
              self.showAlert(null);
              back();
            },
          })
        : null,
      h("button", { type: "submit", class: "lp-button", text: submitText || this.t("next") }),
    ]);
  };

  // --- register flow ----------------------------------------------------------------------

  Widget.prototype.showRegister = function () {
    var self = this;
    var form = h("form", { class: "lp-form", novalidate: true }, this.customerFields("register"));
    form.append(this.actions(null, this.t("register")));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.submitRegister(form);
    });
    this.step(this.t("stepDetails"), [form], false);
  };

  Widget.prototype.submitRegister = function (form) {
    var self = this;
    if (!this.checkFields()) return;
    this.busy(form, true);
    this.say(this.t("sending"));
    this.send("/customers", this.customerBody()).then(function (result) {
      self.busy(form, false);
      self.say("");
      if (result.status !== 201) return self.placeErrors(result, "");
      var customer = result.data;
      var code = customer.customer_code;
      self.step(self.t("registered"), [
        h("p", { class: "lp-done" }, self.parts("customerCode", { code: strong(code) })),
      ]);
      self.say(self.t("registered") + ". " + self.t("customerCode", { code: code }));
      self.emit("latepoint:registered", { customer_code: customer.customer_code, id: customer.id });
    });
  };

  Widget.prototype.busy = function (form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) {
      button.disabled = on;
    });
    form.setAttribute("aria-busy", on ? "true" : "false");
  };

  // --- booking flow -----------------------------------------------------------------------

  Widget.prototype.showProgress = function (index) {
    if (!this.progress) return;
    this.progress.replaceChildren.apply(
      this.progress,
      STEPS.map(function (key, i) {
        var name = this.t(key);
        return h("li", {
          text: name,
          class: i < index ? "lp-past" : null,
          "aria-current": i === index ? "step" : null,
        });
      }, this)
    );
  };

  Widget.prototype.offers = function (filter) {
    return this.catalog.offers.filter(function (offer) {
      return Object.keys(filter).every(function (name) {
        return filter[name] === null || offer[name] === filter[name];
      });
    });
  };

  Widget.prototype.start = function () {
    var self = this;
    var bookable = this.catalog.services.filter(function (service) {
      return self.offers({ service_id: service.id }).length > 0;
    });
    this.services = bookable;
    if (!bookable.length) return this.showAlert(this.t("noServices"));
    var service = byIdOrKey(bookable, this.host.getAttribute("data-service"));
    var location = byIdOrKey(this.catalog.locations, this.host.getAttribute("data-location"));
    this.preferredLocation = location;
    if (service) {
      this.choice.service = service;
      return this.showPlace(false);
    }
    this.showService(false);
  };

  function radios(name, legend, items, checked, describe) {
    var group = h("fieldset", { class: "lp-choices" }, [h("legend", { text: legend })]);
    items.forEach(function (item, index) {
      var id = name + "-" + index;
      group.append(
        h("div", { class: "lp-choice" }, [
          h("input", {
            type: "radio",
            id: id,
            name: name,
            value: String(item.value),
            required: true,
            checked: item.value === checked,
          }),
          h("label", { for: id }, [
            item.label,
            describe && describe(item)
              ? h("span", { class: "lp-hint", text: " " + describe(item) })
              : null,
          ]),
        ])
      );
    });
    return group;
  }

  function picked(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : null;
  }

  Widget.prototype.groupError = function (form, group, message) {
    var old = group.querySelector(".lp-error");
    if (old) old.remove();
    var first = group.querySelector("input");
    var error = h("p", { class: "lp-error", id: first.id + "-error", text: message });
    group.append(error);
    Array.prototype.forEach.call(group.querySelectorAll("input"), function (input) {
      input.setAttribute("aria-describedby", error.id);
      input.setAttribute("aria-invalid", "true");
    });
    first.focus();
  };

  Widget.prototype.showService = function (focus) {
    var self = this;
    this.showProgress(0);
    var name = this.id + "-service";
    var items = this.services.map(function (service) {
      return { value: service.id, label: service.name, minutes: service.duration_minutes };
    });
    var current = this.choice.service && this.choice.service.id;
    var group = radios(name, this.t("chooseService"), items, current, function (item) {
      return self.t("minutes", { minutes: item.minutes });
    });
    var form = h("form", { class: "lp-form", novalidate: true }, [group, this.actions(null)]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = picked(form, name);
      if (value === null) {
        return self.groupError(form, group, group.querySelector("input").validationMessage);
      }
      self.choice.service = self.services.find(function (s) {
        return String(s.id) === value;
      });
      self.showPlace(true);
    });
    this.step(this.t("stepService"), [form], focus);
  };

  Widget.prototype.showPlace = function (focus) {
    var self = this;
    this.showProgress(1);
    var service = this.choice.service;
    var offered = this.offers({ service_id: service.id });
    var locations = this.catalog.locations.filter(function (location) {
      return offered.some(function (offer) {
        return offer.location_id === location.id;
      });
    });
    var chosen = this.choice.location || this.preferredLocation;
    if (chosen && !locations.some(function (l) { return l.id === chosen.id; })) chosen = null;
    if (!chosen && locations.length === 1) chosen = locations[0];
    var placeName = this.id + "-place";
    var personName = this.id + "-person";
    var places = radios(
      placeName,
      this.t("place"),
      locations.map(function (l) {
        return { value: l.id, label: l.name, address: l.address };
      }),
      chosen && chosen.id,
      function (item) {
        return item.address;
      }
    );
    var people = h("div", { class: "lp-people" });
    var form = h("form", { class: "lp-form", novalidate: true }, [
      places,
      people,
      this.actions(function () {
        self.showService(true);
      }),
    ]);
    function showPeople() {
      var locationId = Number(picked(form, placeName));
      var agents = self.catalog.agents.filter(function (agent) {
        var where = { service_id: service.id, location_id: locationId, agent_id: agent.id };
        return self.offers(where).length > 0;
      });
      var current = self.choice.agent ? self.choice.agent.id : "any";
      var items = [{ value: "any", label: self.t("anyone") }].concat(
        agents.map(function (a) {
          return { value: a.id, label: a.name };
        })
      );
      if (!items.some(function (i) { return i.value === current; })) current = "any";
      people.replaceChildren(locationId ? radios(personName, self.t("person"), items, current) : "");
    }
    places.addEventListener("change", function () {
      self.choice.agent = null;
      showPeople();
    });
    showPeople();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = picked(form, placeName);
      if (value === null) {
        return self.groupError(form, places, places.querySelector("input").validationMessage);
      }
      var before = self.choice.location;
      self.choice.location = locations.find(function (l) {
        return String(l.id) === value;
      });
      if (before && before.id !== self.choice.location.id) self.keepDayFor(self.choice.location);
      var person = picked(form, personName);
      self.choice.agent =
        person === null || person === "any"
          ? null
          : self.catalog.agents.find(function (a) {
              return String(a.id) === person;
            });
      self.choice.slot = null;
      self.showTimes(true);
    });
    this.step(this.t("stepPlace"), [form], focus);
  };

  // Another place may be in another time zone: a day chosen for the last one that is already
  // past there is dropped (the server then answers with that place's today).
  Widget.prototype.keepDayFor = function (location) {
    var today = todayIn(location.timezone);
    if (this.choice.date && (!today || this.choice.date < today)) this.choice.date = null;
  };

  Widget.prototype.formatDay = function (day) {
    var parts = day.split("-").map(Number);
    var date = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
    var options = { dateStyle: "full", timeZone: "UTC" };
    return new Intl.DateTimeFormat(this.locale, options).format(date);
  };

  Widget.prototype.formatLocal = function (text, zone, style) {
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(text || "");
    if (!m) return text;
    var date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]));
    var options =
      style === "time"
        ? { hour: "numeric", minute: "2-digit", timeZone: "UTC" }
        : { dateStyle: "full", timeStyle: "short", timeZone: "UTC" };
    var shown = new Intl.DateTimeFormat(this.locale, options).format(date);
    return zone ? shown + " (" + zone + ")" : shown;
  };

  function shiftDay(day, days) {
    var parts = day.split("-").map(Number);
    var date = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] + days));
    return date.toISOString().slice(0, 10);
  }

  Widget.prototype.showTimes = function (focus, message) {
    var self = this;
    this.showProgress(2);
    var dayId = this.id + "-day";
    var dayInput = h("input", {
      type: "date",
      id: dayId,
      name: "day",
      required: true,
      value: this.choice.date,
      min: todayIn(this.choice.location.timezone),
    });
    var dayError = h("p", { class: "lp-error", id: dayId + "-error", hidden: true });
    var times = h("div", { class: "lp-times" });
    // Until an answer has said which day is shown, there is no day to go from.
    var previous = h("button", {
      type: "button",
      class: "lp-button lp-secondary",
      text: this.t("previousDay"),
      disabled: !this.choice.date,
    });
    var next = h("button", {
      type: "button",
      class: "lp-button lp-secondary",
      text: this.t("nextDay"),
      disabled: !this.choice.date,
    });
    var back = this.actions(function () {
      self.showPlace(true);
    });
    back.querySelector('button[type="submit"]').remove();
    var asked = 0; // only the answer to the latest question is shown
    function load(day) {
      var mine = ++asked;
      dayError.hidden = true;
      dayInput.removeAttribute("aria-invalid");
      dayInput.removeAttribute("aria-describedby");
      times.replaceChildren();
      self.say(self.t("loadingTimes"));
      var query =
        "?service_id=" + self.choice.service.id + "&location_id=" + self.choice.location.id +
        (self.choice.agent ? "&agent_id=" + self.choice.agent.id : "") +
        (day ? "&date=" + day : "");
      self.call("GET", "/availability" + query).then(function (result) {
        if (mine !== asked) return;
        self.say("");
        if (!result.ok) {
          var detail = result.error && result.error.details && result.error.details.date;
          if (detail) {
            dayError.textContent = detail;
            dayError.hidden = false;
            dayInput.setAttribute("aria-invalid", "true");
            dayInput.setAttribute("aria-describedby", dayError.id);
          } else {
            self.showAlert(self.problem(result), function () {
              self.showAlert(null);
              load(day);
            });
          }
          return;
        }
        var found = result.data;
        // Today where this place is (asked without a day, the server says so itself).
        var today = todayIn(found.timezone) || (day ? dayInput.min : found.date) || found.date;
        dayInput.min = today;
        self.choice.date = found.date;
        self.zone = found.timezone;
        dayInput.value = found.date;
        previous.disabled = found.date <= today;
        next.disabled = false;
        showSlots(found);
      });
    }
    function showSlots(found) {
      var legend = self.t("freeTimes", { day: self.formatDay(found.date), zone: found.timezone });
      var group = h("fieldset", { class: "lp-choices lp-slots", "data-day": found.date }, [
        h("legend", { text: legend }),
      ]);
      if (!found.slots.length) group.append(h("p", { class: "lp-empty", text: self.t("noTimes") }));
      var chosen = self.choice.slot;
      found.slots.forEach(function (slot) {
        group.append(
          h("button", {
            type: "button",
            class: "lp-time",
            "aria-pressed": String(Boolean(chosen && chosen.start === slot.start)),
            text: self.formatLocal(slot.start, null, "time"),
            onclick: function () {
              self.choice.slot = slot;
              self.showAlert(null);
              self.showDetails(true);
            },
          })
        );
      });
      times.replaceChildren(group);
      var n = found.slots.length;
      self.say(n ? self.t("timesShown", { num: n }) : self.t("noTimes"));
    }
    dayInput.addEventListener("change", function () {
      if (dayInput.value) load(dayInput.value);
    });
    previous.addEventListener("click", function () {
      if (self.choice.date) load(shiftDay(self.choice.date, -1));
    });
    next.addEventListener("click", function () {
      if (self.choice.date) load(shiftDay(self.choice.date, 1));
    });
    var dayField = h("div", { class: "lp-field" }, [
      h("label", { for: dayId, text: this.t("day") }),
      dayInput,
      dayError,
    ]);
    this.step(this.t("stepTime"), [
      h("div", { class: "lp-day" }, [dayField, h("div", { class: "lp-daynav" }, [previous, next])]),
      times,
      back,
    ], focus);
    if (message) this.showAlert(message);
    load(this.choice.date);
  };

  Widget.prototype.summary = function () {
    var c = this.choice;
    var rows = [
      [this.t("summaryService"), c.service.name],
      [this.t("summaryPlace"), c.location.name],
      [this.t("summaryPerson"), c.agent ? c.agent.name : this.t("anyone")],
      [this.t("summaryTime"), this.formatLocal(c.slot.start, this.zone)],
    ];
    var list = h("dl", { class: "lp-summary" });
    rows.forEach(function (row) {
      list.append(h("div", {}, [h("dt", { text: row[0] }), h("dd", { text: row[1] })]));
    });
    return list;
  };

  Widget.prototype.showDetails = function (focus) {
    var self = this;
    this.showProgress(3);
    var form = h("form", { class: "lp-form", novalidate: true }, this.customerFields("booking"));
    form.append(
      this.actions(function () {
        self.showTimes(true);
      }, this.t("book"))
    );
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.submitBooking(form);
    });
    this.step(this.t("stepDetails"), [this.summary(), form], focus);
  };

  Widget.prototype.submitBooking = function (form) {
    var self = this;
    if (!this.checkFields()) return;
    var c = this.choice;
    var body = {
      service_id: c.service.id,
      location_id: c.location.id,
      agent_id: c.agent ? c.agent.id : null,
      start: c.slot.start,
      customer: this.customerBody(),
    };
    this.busy(form, true);
    this.say(this.t("sending"));
    this.send("/bookings", body).then(function (result) {
      self.busy(form, false);
      self.say("");
      if (result.status === 201) return self.booked(result.data);
      var details = (result.error && result.error.details) || {};
      var code = result.error && result.error.code;
      if (code === "slot_taken" || details.start) {
        // Back to the times (refreshed), saying why.
        self.choice.slot = null;
        return self.showTimes(true, code === "slot_taken" ? self.t("slotTaken") : details.start);
      }
      self.placeErrors(result, "customer.");
    });
  };

  Widget.prototype.booked = function (data) {
    var booking = data.booking;
    this.showProgress(4);
    var when = this.formatLocal(booking.start, booking.timezone);
    var service = named(booking.service);
    var place = named(booking.location);
    var person = named(booking.agent);
    var what = null;
    if (service && place) {
      var names = { service: service, place: place, person: person };
      what = this.t(person ? "whatWith" : "what", names);
    }
    this.step(this.t("booked"), [
      h("p", { class: "lp-done" }, this.parts("bookedCode", { code: strong(booking.code) })),
      h("p", { class: "lp-when", text: when }),
      what ? h("p", { text: what }) : null,
    ]);
    this.say(this.t("booked") + ". " + this.t("bookedCode", { code: booking.code }));
    var detail = {
      booking_code: booking.code,
      start: booking.start,
      end: booking.end,
      timezone: booking.timezone,
      service: booking.service,
      location: booking.location,
      agent: booking.agent,
    };
    // A publishable key is never told whose booking it is (whether the address was on
    // file: SPEC section 9); the customer's code comes only where the API gives it.
    if (data.customer) {
      detail.customer_code = data.customer.customer_code;
      detail.customer_id = data.customer.id;
    }
    this.emit("latepoint:booked", detail);
  };

  // --- start every widget on the page -------------------------------------------------------

  function mountFailed(host, error) {
    console.error("latepoint widget: could not start on", host, error);
  }

  // One element that cannot carry a shadow root (an <li>, an <a>, …) or fails to load must
  // not keep the others from starting.
  function mountAll() {
    var hosts = document.querySelectorAll("[data-latepoint-widget]");
    Array.prototype.forEach.call(hosts, function (host) {
      if (host.shadowRoot) return; // mounted already (or another script's element)
      try {
        new Widget(host).mount().catch(function (error) {
          mountFailed(host, error);
        });
      } catch (error) {
        mountFailed(host, error);
      }
    });
  }

  window.LatePointWidget = { version: VERSION, mount: mountAll };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
