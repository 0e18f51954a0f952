// Sends the form to POST /documents with the key as X-API-Key (a plain form cannot set
// headers) and says in Dutch what happened: the API's problem sentences are English
// (for developers), the people on this page are programme managers. Everything shown is
// set with textContent (a file name or an ingest reason comes from the user).
(function () {
  "use strict";
  var form = document.getElementById("upload");
  var out = document.getElementById("upload-result");
  function line(text, cls) {
    var p = document.createElement("p");
    if (cls) { p.className = cls; }
    p.textContent = text;
    out.appendChild(p);
    return p;
  }
  function slug(j) { return String((j && j.type) || "").split("/").pop(); }
  // One Dutch sentence per kind of refusal; the API's own sentence follows for details.
  function refusal(status, j) {
    var s = slug(j);
    if (s === "no-keys-configured") {
      return "Toevoegen staat uit: op deze server is geen API-sleutel ingesteld. De beheerder " +
        "maakt er een met 'impact-graph keys new', zet de hash in IMPACT_GRAPH_API_KEYS en " +
        "herstart de server.";
    }
    if (status === 401) {
      return "De API-sleutel ontbreekt of is niet geldig; controleer hem op typefouten of " +
        "vraag de beheerder om een sleutel.";
    }
    if (status === 413) {
      var most = form.getAttribute("data-max-mb");
      return "Het bestand is groter dan deze server toestaat" + (most ? " (hoogstens " + most +
        ")" : "") + "; splits het in kleinere bestanden.";
    }
    if (status === 415) {
      return "Dit soort bestand kan niet worden gelezen; gebruik md, txt, pdf, docx, html, " +
        "csv, json, ris of bib.";
    }
    if (s === "empty-upload") { return "Het bestand is leeg; kies een bestand met inhoud."; }
    if (s === "ingest-failed") {
      return "Het document kon niet worden gelezen; de reden staat hieronder. Pas het bestand " +
        "aan en probeer het opnieuw.";
    }
    if (status === 503) {
      return "De kennisgraaf is nu niet bereikbaar; probeer het over enkele seconden opnieuw.";
    }
    return "Toevoegen is niet gelukt (fout " + status + ").";
  }
  function details(summary, text) {
    var d = document.createElement("details");
    var s = document.createElement("summary");
    s.textContent = summary;
    var pre = document.createElement("pre");
    pre.className = "report";
    pre.textContent = text;
    d.appendChild(s);
    d.appendChild(pre);
    out.appendChild(d);
  }
  function documentLinks(docs) {
    (docs || []).forEach(function (d) {
      if (!d.doc_id || d.status === "failed") { return; }
      var p = line("", "doc");
      var a = document.createElement("a");
      a.href = "/entiteit/" + encodeURIComponent(d.doc_id);
      a.textContent = "Bekijk het document";
      p.appendChild(a);
      // An unchanged document writes nothing, so its report says 0 chunks: the count
      // would contradict the document page ("Tekst (1 fragment)").
      if (d.status === "unchanged") { return; }
      var n = d.chunks || 0;
      p.appendChild(document.createTextNode(
        " (" + n + (n === 1 ? " tekstfragment)" : " tekstfragmenten)")));
    });
  }
  // Uploads are named by their content, so a corrected version of a file is a new
  // document and the earlier one keeps its facts (they count twice) until it is deleted.
  // Say so after adding, and offer the delete with the key already typed.
  function earlierVersions(filename, docs, key) {
    var added = (docs || []).filter(function (d) { return d.status === "new"; })[0];
    if (!added || !filename) { return; }
    var url = "/uploaden/eerdere-versies?bestand=" + encodeURIComponent(filename) +
      "&behalve=" + encodeURIComponent(added.doc_id);
    fetch(url).then(function (r) { return r.json(); }).then(function (j) {
      var items = (j && j.items) || [];
      if (!items.length) { return; }
      line("Let op: er " + (items.length === 1 ? "staat al een eerdere versie" :
        "staan al " + items.length + " eerdere versies") + " van '" + filename +
        "' in de kennisgraaf. Die " + (items.length === 1 ? "blijft" : "blijven") +
        " staan naast deze versie, en hun feiten tellen dubbel mee, tot u " +
        (items.length === 1 ? "haar" : "ze") + " verwijdert.", "note earlier");
      items.forEach(function (d) {
        var p = line("", "earlier-version");
        var a = document.createElement("a");
        a.href = "/entiteit/" + encodeURIComponent(d.id);
        a.textContent = d.title || d.id;
        p.appendChild(a);
        if (d.created_at) { p.appendChild(document.createTextNode(" (toegevoegd " + d.created_at + ") ")); }
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = "Verwijder deze eerdere versie";
        b.addEventListener("click", function () {
          b.disabled = true;
          fetch("/documents/" + encodeURIComponent(d.id), {method: "DELETE", headers: {"X-API-Key": key}})
            .then(function (r) {
              b.remove();
              p.appendChild(document.createTextNode(r.ok ? "Verwijderd." :
                "Verwijderen is niet gelukt (fout " + r.status + ")."));
            });
        });
        p.appendChild(b);
      });
    }).catch(function () { /* the warning is help text; the upload itself worked */ });
  }
  // Say what stays on the server: a story's file is removed once it is read, any other
  // kind's file stays (with the names in it) until its document is deleted (API answer:
  // file_kept). Offer that delete here, with the key already typed.
  function keptFile(j, key) {
    if (j.file_kept === false) {
      line("Het bestand zelf en de bestandsnaam zijn niet bewaard; alleen de " +
        "gepseudonimiseerde tekst en de feiten staan in de kennisgraaf.", "note kept");
      return;
    }
    if (j.file_kept !== true) { return; }
    var docs = (j.documents || []).filter(function (d) { return d.doc_id && d.status !== "failed"; });
    var p = line("Het bestand blijft op de server bewaard, met de namen die erin staan, tot u " +
      "het document verwijdert. ", "note kept");
    if (docs.length !== 1) { return; }
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = "Verwijder dit document en het bestand";
    b.addEventListener("click", function () {
      b.disabled = true;
      fetch("/documents/" + encodeURIComponent(docs[0].doc_id), {method: "DELETE", headers: {"X-API-Key": key}})
        .then(function (r) {
          b.remove();
          p.appendChild(document.createTextNode(r.ok ? "Verwijderd." :
            "Verwijderen is niet gelukt (fout " + r.status + ")."));
        });
    });
    p.appendChild(b);
  }
  // While the service is still starting (store opening, model and reading parts
  // loading), an upload waits or is refused with 503; the server says so in Dutch at
  // /uploaden/status. The note above the form follows it; `then` gets the answer.
  var starting = document.getElementById("starting");
  function askStarting(then) {
    fetch("/uploaden/status", {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (j) {
        starting.textContent = j.message || "";
        starting.hidden = !j.starting;
        if (then) { then(j); }
      })
      .catch(function () { if (then) { then({starting: false}); } });
  }
  function watchStarting() {
    askStarting(function (j) { if (j.starting) { setTimeout(watchStarting, 3000); } });
  }
  if (!starting.hidden) { setTimeout(watchStarting, 3000); }

  var BUSY = "Bezig met lezen en verwerken… Een groot bestand kan enkele minuten duren; " +
    "laat deze pagina open.";
  var RETRY_MS = 3000, RETRIES = 100;  // a store that loads a large graph: up to ~5 min
  function send(body, key, tries) {
    out.textContent = "";
    var busy = line(BUSY, "busy");
    var waiting = true;
    // Say why an upload waits, while it waits: the server holds it until it has started.
    (function poll() {
      setTimeout(function () {
        if (!waiting) { return; }
        askStarting(function (j) {
          if (!waiting) { return; }
          busy.textContent = j.starting ? j.message : BUSY;
          poll();
        });
      }, 2500);
    })();
    fetch("/documents", {method: "POST", headers: {"X-API-Key": key}, body: body})
      .then(function (r) {
        return r.json().catch(function () { return {}; })
          .then(function (j) { return [r.status, j]; });
      })
      .then(function (res) {
        waiting = false;
        var status = res[0], j = res[1];
        if (status === 503 && tries < RETRIES) {
          // Refused because the store is still opening: send it again by itself.
          askStarting(function (s) {
            if (!s.starting) { show(status, j, key); return; }
            out.textContent = "";
            line(s.message + " Uw document wordt over enkele seconden vanzelf opnieuw " +
              "verstuurd.", "busy");
            setTimeout(function () { send(body, key, tries + 1); }, RETRY_MS);
          });
          return;
        }
        show(status, j, key);
      })
      .catch(function (e) {
        waiting = false;
        out.textContent = "";
        line("Versturen is mislukt (" + e + "); controleer de verbinding en probeer het opnieuw.", "error");
      });
  }
  function show(status, j, key) {
    out.textContent = "";
    if (!starting.hidden) { askStarting(); }  // the note must not outlast the wait
    if (status >= 400) {
      // A problem with its own Dutch sentence (detail_nl, e.g. a file over the limit)
      // needs no English one below it.
      if (j.detail_nl) { line(j.detail_nl, "error"); return; }
      line(refusal(status, j), "error");
      if (j.detail) { line("Technische melding (Engels): " + j.detail, "detail"); }
      return;
    }
    line(status === 201 ? "Toegevoegd." : "Dit document stond er al; er is niets veranderd.", "ok");
    documentLinks(j.documents);
    keptFile(j, key);
    earlierVersions(j.filename, j.documents, key);
    details("Verslag van het inlezen (JSON)", JSON.stringify(j, null, 2));
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var key = document.getElementById("key").value.trim();
    var file = document.getElementById("file").files[0];
    var body = new FormData();
    body.append("file", file);
    var kind = document.getElementById("kind").value;
    if (kind) { body.append("kind", kind); }
    send(body, key, 0);
  });
})();
