// The public desk's script. Everything works without it; with it the region cascade fills in place, the credit
// code is checked as typed, and the receipt has a copy button. No inline script anywhere (strict CSP).
(function () {
  "use strict";
  var ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  // GB 32100-2015: 18 characters of ALPHABET, the last a mod-31 check character.
  function usccValid(code) {
    if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(code)) { return false; }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += ALPHABET.indexOf(code.charAt(i)) * WEIGHTS[i]; }
    var check = (31 - (sum % 31)) % 31;
    return ALPHABET.charAt(check) === code.charAt(17);
  }

  function fill(select, regions, placeholder) {
    select.innerHTML = "";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = placeholder;
    select.appendChild(first);
    regions.forEach(function (r) {
      var o = document.createElement("option");
      o.value = r.code;
      o.textContent = r.name;
      select.appendChild(o);
    });
  }

  function setup() {
    document.querySelectorAll("[data-nojs]").forEach(function (el) { el.hidden = true; });

    document.querySelectorAll("select[data-cascade]").forEach(function (select) {
      select.addEventListener("change", function () {
        var target = document.getElementById(select.getAttribute("data-cascade"));
        var placeholders = { city: "请选择城市", region_code: "请选择区县" };
        var next = target;
        while (next) {  // clear every level below
          fill(next, [], placeholders[next.id]);
          next = document.getElementById(next.getAttribute("data-cascade") || "");
        }
        if (!select.value) { return; }
        fetch("/api/v1/public/regions?parent=" + encodeURIComponent(select.value), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (page) { fill(target, page.items, placeholders[target.id]); });
      });
    });

    document.querySelectorAll("input[data-uscc]").forEach(function (input) {
      var hint = document.getElementById(input.id + "-hint");
      var plain = hint ? hint.textContent : "";
      input.addEventListener("input", function () {
        var v = input.value.trim().toUpperCase();
        if (!v) { input.removeAttribute("aria-invalid"); hint.textContent = plain; return; }
        if (v.length < 18) { input.removeAttribute("aria-invalid"); hint.textContent = "还差 " + (18 - v.length) + " 位"; return; }
        var ok = usccValid(v);
        input.setAttribute("aria-invalid", ok ? "false" : "true");
        hint.textContent = ok ? "代码校验通过" : "代码有误：请核对（最后一位为校验码）";
      });
    });

    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var source = document.querySelector(button.getAttribute("data-copy"));
      var status = document.querySelector(".copied");
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = source.textContent.trim();
        var done = function () { if (status) { status.textContent = "已复制，请粘贴保存到安全的地方"; } };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { select(source); });
        } else {
          select(source);
          try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the text stays selected */ }
        }
      });
    });
  }

  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
