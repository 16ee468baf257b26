<?php
// One matrix cell with PHP SoapClient: php php_call.php WSDL ENDPOINT 1.1|1.2 CASE (see run-matrix.sh).
[$_, $wsdl, $endpoint, $version, $case] = $argv;
$E = json_decode(file_get_contents(__DIR__ . '/../../../tests/clients/expected.json'), true);
function cell(string $color, string $text): void { echo "CELL $color $text\n"; exit(0); }
function many($v): array { return $v === null ? [] : (is_array($v) ? $v : [$v]); }

$key = str_starts_with($case, 'bad') ? 'wrong-key' : $E['key'];
$c = new SoapClient($wsdl, [
    'soap_version' => $version === '1.1' ? SOAP_1_1 : SOAP_1_2,
    'cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true, 'trace' => true, 'location' => $endpoint,
    'stream_context' => stream_context_create(['http' => ['header' => "Tenant-Id: {$E['tenant']}\r\nApplication-Key: $key\r\n"]]),
]);
$uid = str_starts_with($case, 'not-found') ? $E['not_found_id'] : ($case === 'empty' ? $E['empty_id'] : $E['found_id']);
try {
    $r = $c->GetInteractionFullFlowByUUID(['uniqueId' => $uid]);
} catch (SoapFault $f) {
    $detail = isset($f->detail) ? json_encode($f->detail) : '';
    $seen = "SoapFault faultcode=" . json_encode($f->faultcode) . " message=" . json_encode($f->getMessage())
        . ($detail ? " detail=$detail" : '');
    if (str_starts_with($case, 'bad') && $f->getMessage() === $E['unauthorized']) {
        cell(strpos($f->faultcode . $detail, $E['vendor_code']) !== false ? 'green' : 'partial', $seen);
    }
    if (str_starts_with($case, 'not-found') && strpos($f->getMessage() . $detail, 'was not found') !== false) cell('green', $seen);
    cell('red', $seen);
} catch (Throwable $e) {
    cell('red', get_class($e) . ': ' . substr($e->getMessage(), 0, 160));
}
if ($case === 'found') {
    $pages = many($r->page ?? null);
    $titles = array_map(fn($p) => $p->pageNavigation->navigationTitle, $pages);
    $values = []; $images = [];
    foreach ($pages as $p) foreach (many($p->pageContent->contentSections ?? null) as $s) foreach (many($s->sectionChoices ?? null) as $ch) {
        $values[] = $ch->choiceValue;
        if (isset($ch->uploadImageList)) foreach (many($ch->uploadImageList->images ?? null) as $i) $images[] = $i->imagePath;
    }
    $ok = $titles === $E['titles'] && in_array($E['damage'], $values, true) && in_array($E['serial'], $values, true) && $images === $E['images'];
    cell($ok ? 'green' : 'red', count($pages) . ' pages, titles/inputs/photos ' . ($ok ? 'intact' : 'WRONG'));
}
if ($case === 'empty') cell(isset($r->page) ? 'red' : 'green', 'object without page, no error');
if (str_starts_with($case, 'not-found')) {
    $raw = $c->__getLastResponse();
    $seen = 'result ' . json_encode($r) . (strpos($raw, $E['not_found_text']) !== false ? '; the sentence is only in __getLastResponse()' : '');
    cell('partial', $seen);
}
cell('red', 'no fault: ' . substr(json_encode($r), 0, 160));
