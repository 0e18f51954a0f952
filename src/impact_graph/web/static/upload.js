// Sends the form to POST /documents with the key as X-API-Key (a plain form cannot set
// headers) and shows the ingest report. Everything shown is set with textContent.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  var out = document.getElementById("upload-result");
  function line(text, cls) {
    var p = document.createElement("p");
    if (cls) { p.className = cls; }
    p.textContent = text;
    out.appendChild(p);
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    out.textContent = "";
    var key = document.getElementById("key").value.trim();
    var body = new FormData();
    body.append("file", document.getElementById("file").files[0]);
    var kind = document.getElementById("kind").value;
    if (kind) { body.append("kind", kind); }
    line("Bezig met lezen en verwerken…");
    fetch("/documents", {method: "POST", headers: {"X-API-Key": key}, body: body})
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (res) {
        out.textContent = "";
        var status = res[0], j = res[1];
        if (status >= 400) { line(j.detail || ("Fout " + status), "error"); return; }
        line(status === 201 ? "Toegevoegd." : "Dit document stond er al; er is niets veranderd.", "ok");
        line(JSON.stringify(j, null, 2), "report");
      })
      .catch(function (e) { out.textContent = ""; line("Versturen mislukt: " + e, "error"); });
  });
})();
