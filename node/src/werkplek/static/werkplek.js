// Weer Thuis werkplek: live checks while a form is filled in. The node checks (its own Validator and
// completeness rules, on the server); this script only sends the form and shows the answer. Without it every
// form still works: the same checks run when it is saved.
"use strict";
(function () {
  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  function check(form) {
    var data = new URLSearchParams(new FormData(form));
    return fetch(form.dataset.controle, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": form.dataset.csrf },
      body: data.toString(),
      credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : null; });
  }
  // A field's message is shown once the field has been touched: a form just opened does not greet the
  // begeleider with a list of errors for fields she has not reached yet.
  var touched = {};
  function show(form, answer) {
    if (!answer) return;
    var fields = form.querySelectorAll("[data-veld]");
    fields.forEach(function (input) {
      var name = input.dataset.veld;
      var slot = document.getElementById("fout-" + name);
      var message = touched[name] || slot && slot.textContent ? (answer.fouten[name] || "") : "";
      if (slot && slot.textContent !== message) slot.textContent = message;
      if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    });
    var rest = document.getElementById("fouten-formulier");
    if (rest) rest.textContent = answer.fouten[""] || "";
    var list = document.getElementById("nog-nodig-lijst");
    if (list) {
      list.innerHTML = "";
      answer.nog_nodig.forEach(function (label) {
        var li = document.createElement("li"); li.textContent = label; list.appendChild(li);
      });
    }
    var count = document.getElementById("nog-nodig-aantal");
    if (count) count.textContent = answer.samenvatting;
    var submit = document.getElementById("indienen");
    if (submit) submit.disabled = !answer.indienbaar;
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-controle]").forEach(function (form) {
      var run = debounce(function () { check(form).then(function (a) { show(form, a); }); }, 250);
      function touch(event) {
        if (event.target && event.target.dataset && event.target.dataset.veld) touched[event.target.dataset.veld] = true;
        run();
      }
      form.addEventListener("input", touch);
      form.addEventListener("change", touch);
    });
  });
})();
