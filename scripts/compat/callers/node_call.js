// One matrix cell with node `soap` or `strong-soap`:
//   node node_call.js soap|strong-soap WSDL ENDPOINT 1.1|1.2 CASE   (see run-matrix.sh)
const [lib, wsdl, endpoint, version, kase] = process.argv.slice(2);
const E = require(__dirname + "/../../../tests/clients/expected.json");
const cell = (color, text) => { console.log(`CELL ${color} ${text}`); process.exit(0); };
const many = (v) => (v == null ? [] : Array.isArray(v) ? v : [v]);
const port = version === "1.1" ? "InteractionDataSoap11" : "InteractionDataSoap12";
const key = kase.startsWith("bad") ? "wrong-key" : E.key;
const headers = { "Tenant-Id": E.tenant, "Application-Key": key };
const uid = kase.startsWith("not-found") ? E.not_found_id : kase === "empty" ? E.empty_id : E.found_id;

function judge(err, result, raw) {
  if (err) {
    const text = String((err.root && JSON.stringify(err.root.Envelope && err.root.Envelope.Body)) || err.body || err.message || err);
    const seen = `error: ${String(err.message || err).slice(0, 120)}${text.includes(E.vendor_code) ? " (0x7000000 readable)" : ""}`;
    if (kase.startsWith("bad") && text.includes(E.unauthorized)) cell(text.includes(E.vendor_code) ? "green" : "partial", seen);
    if (kase.startsWith("not-found") && text.includes("was not found")) cell("green", seen);
    cell("red", seen);
  }
  if (kase === "found") {
    const pages = many(result && result.page);
    const titles = pages.map((p) => p.pageNavigation.navigationTitle);
    const values = [], images = [];
    for (const p of pages) for (const s of many(p.pageContent.contentSections)) for (const c of many(s.sectionChoices)) {
      values.push(c.choiceValue);
      if (c.uploadImageList) for (const i of many(c.uploadImageList.images)) images.push(i.imagePath);
    }
    const ok = JSON.stringify(titles) === JSON.stringify(E.titles) && values.includes(E.damage) && values.includes(E.serial)
      && JSON.stringify(images) === JSON.stringify(E.images);
    cell(ok ? "green" : "red", `${pages.length} pages, titles/inputs/photos ${ok ? "intact" : "WRONG " + JSON.stringify(titles)}`);
  }
  if (kase === "empty") cell(many(result && result.page).length === 0 ? "green" : "red", `result ${JSON.stringify(result)}, no error`);
  if (kase.startsWith("not-found")) {
    const inRaw = String(raw || "").includes(E.not_found_text);
    cell("partial", `result ${JSON.stringify(result)}, no error${inRaw ? "; the sentence is only in the raw reply" : ""}`);
  }
  cell("red", `no fault: ${JSON.stringify(result)}`.slice(0, 200));
}

if (lib === "soap") {
  const soap = require("soap");
  const options = version === "1.2" ? { forceSoap12Headers: true } : {};
  soap.createClientAsync(wsdl, options).then((client) => {
    client.setEndpoint(endpoint);
    const method = client.InteractionDataService[port].GetInteractionFullFlowByUUID;
    method({ uniqueId: uid }, (err, result, raw) => judge(err, result, raw), {}, headers);
  }).catch((e) => cell("red", `createClient: ${e.message}`));
} else {
  const soap = require("strong-soap").soap;
  soap.createClient(wsdl, { endpoint }, (err, client) => {
    if (err) cell("red", `createClient: ${err.message}`);
    const method = client.InteractionDataService[port].GetInteractionFullFlowByUUID;
    // strong-soap takes document/literal arguments keyed by the message part (= the element).
    const args = { GetInteractionFullFlowByUUIDRequest: { uniqueId: uid } };
    method(args, (err, result, envelope) => judge(err, result, envelope), {}, headers);
  });
}
