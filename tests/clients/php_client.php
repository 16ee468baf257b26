<?php
// PHP SoapClient against a running gateway, generated from the SERVED WSDL.
//
//     php php_client.php WSDL_URL 1.1|1.2                  every check (scripts/soap-clients)
//     php php_client.php WSDL_URL ENDPOINT 1.1|1.2 CASE    one cell of scripts/compat/run-matrix.sh
//
// Every check covers found (pages, titles, user inputs and photo paths intact; by unique id and by
// caller attribute), empty, not found, bad credentials, plus the sibling operations, prints one line
// per check (`ok …` / `FAIL …`) and exits non-zero when any check failed. A cell calls
// GetInteractionFullFlowByUUID once for CASE (found, empty, not-found, bad, bad-standard,
// not-found-standard), judges it with the same checks and prints `CELL green|partial|red <what the
// client saw>`.

$E = json_decode(file_get_contents(__DIR__ . '/expected.json'), true);

function client(string $wsdl, string $version, string $key, ?string $endpoint = null): SoapClient {
    global $E;
    $headers = "Tenant-Id: {$E['tenant']}\r\nApplication-Key: $key\r\n";
    $options = [
        'soap_version' => $version === '1.1' ? SOAP_1_1 : SOAP_1_2,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'exceptions' => true,
        'trace' => true,
        'stream_context' => stream_context_create(['http' => ['header' => $headers]]),
    ];
    if ($endpoint !== null) $options['location'] = $endpoint;
    return new SoapClient($wsdl, $options);
}

// PHP gives one object for one repeated element and an array for several: normalize.
function many($value): array {
    if ($value === null) return [];
    return is_array($value) ? $value : [$value];
}

// [name, ok, detail] of a found flow (the object with `page`): the demo's titles, typed inputs, photo paths.
function flow_checks($reply): array {
    global $E;
    $pages = many($reply->page ?? null);
    $titles = array_map(fn($p) => $p->pageNavigation->navigationTitle, $pages);
    $values = [];
    $images = [];
    foreach ($pages as $p) {
        foreach (many($p->pageContent->contentSections ?? null) as $s) {
            foreach (many($s->sectionChoices ?? null) as $ch) {
                $values[] = $ch->choiceValue;
                if (isset($ch->uploadImageList)) {
                    foreach (many($ch->uploadImageList->images ?? null) as $i) $images[] = $i->imagePath;
                }
            }
        }
    }
    return [
        ['titles', $titles === $E['titles'], $titles],
        ['user input', in_array($E['damage'], $values, true) && in_array($E['serial'], $values, true), $values],
        ['photo paths', $images === $E['images'], $images],
    ];
}

function fault_detail(SoapFault $f): string {
    return isset($f->detail) ? json_encode($f->detail) : '';
}

// The fault of bad credentials, and whether it carries the vendor code (in the code or the detail).
function is_unauthorized(SoapFault $f): array {
    global $E;
    return [$f->getMessage() === $E['unauthorized'], strpos($f->faultcode . fault_detail($f), $E['vendor_code']) !== false];
}

function suite(string $wsdl, string $version): int {
    global $E;
    $failures = 0;
    $check = function (string $name, bool $ok, $detail = '') use (&$failures, $version): void {
        if ($ok) {
            echo "ok   php SOAP $version $name\n";
        } else {
            $failures++;
            echo "FAIL php SOAP $version $name: " . (is_string($detail) ? $detail : json_encode($detail)) . "\n";
        }
    };
    $c = client($wsdl, $version, $E['key']);
    $parts = [
        'found' => function () use ($c, $E, $check) {
            $calls = [
                'by unique id' => fn() => $c->GetInteractionFullFlowByUUID(['uniqueId' => $E['found_id']]),
                'by caller attribute' => fn() => $c->GetInteractionFullFlowByCallerAttribute(['callerAttribute' => 'history1', 'widerSearch' => true]),
            ];
            foreach ($calls as $how => $call) {
                foreach (flow_checks($call()) as [$name, $ok, $detail]) $check("found $how: $name", $ok, $detail);
            }
        },
        'empty' => function () use ($c, $E, $check) {
            $r = $c->GetInteractionFullFlowByUUID(['uniqueId' => $E['empty_id']]);
            $check('empty', !isset($r->page), $r);
        },
        'not found' => function () use ($c, $E, $check) {
            // The seed's not-found element is not the declared output: SoapClient returns null for it;
            // the reply itself is read from the trace.
            $r = $c->GetInteractionFullFlowByUUID(['uniqueId' => $E['not_found_id']]);
            $check('not found: typed result is null', $r === null, $r);
            $doc = new DOMDocument();
            $doc->loadXML($c->__getLastResponse());
            $xp = new DOMXPath($doc);
            $xp->registerNamespace('a', 'http://com/jacada/interact/agent/soap');
            $text = $xp->evaluate('string(//a:GetInteractionUniqueIdResponse/a:uniqueId)');
            $check('not found: reply', $text === $E['not_found_text'], $text);
        },
        'bad credentials' => function () use ($wsdl, $version, $E, $check) {
            try {
                client($wsdl, $version, 'wrong-key')->GetInteractionFullFlowByUUID(['uniqueId' => $E['found_id']]);
                $check('bad credentials', false, 'no fault');
            } catch (SoapFault $f) {
                [$unauthorized, $vendor_code] = is_unauthorized($f);
                $check('bad credentials: SoapFault with the vendor code', $unauthorized && $vendor_code, [$f->faultcode, $f->getMessage(), fault_detail($f)]);
                echo "info php SOAP $version bad credentials: faultcode=" . json_encode($f->faultcode) . " detail=" . fault_detail($f) . "\n";
            }
        },
        'siblings' => function () use ($c, $E, $check) {
            $r = $c->GetInteractionUniqueId(['attributeType' => 'dtmf', 'attributeValue' => '4567']);
            $check('unique id', $r->uniqueId === $E['found_id'], $r);
            $v = $c->GetVariableSetByUUID(['uniqueId' => $E['found_id'], 'variableSetId' => 'customerInfoSet']);
            $entries = many($v->voice->data->entry ?? null);
            $check('variable set', $entries[0]->key === 'firstName' && $entries[0]->value === 'Jane', $entries);
            $s = many($c->GetInteractionSummaryByUUID(['uniqueId' => $E['found_id']])->page ?? null);
            $check('summary', count($s) === 5, count($s));
        },
    ];
    foreach ($parts as $name => $part) {
        try {
            $part();
        } catch (Throwable $e) { // a client error is a failed check, not a crash of the suite
            $check($name, false, get_class($e) . ': ' . $e->getMessage());
        }
    }
    return $failures ? 1 : 0;
}

// The matrix cell: [color, what the client saw].
function cell(string $wsdl, string $endpoint, string $version, string $case): array {
    global $E;
    $key = str_starts_with($case, 'bad') ? 'wrong-key' : $E['key'];
    $uid = str_starts_with($case, 'not-found') ? $E['not_found_id'] : ($case === 'empty' ? $E['empty_id'] : $E['found_id']);
    try {
        $c = client($wsdl, $version, $key, $endpoint);
        $r = $c->GetInteractionFullFlowByUUID(['uniqueId' => $uid]);
    } catch (SoapFault $f) {
        $detail = fault_detail($f);
        $seen = "SoapFault faultcode=" . json_encode($f->faultcode) . " message=" . json_encode($f->getMessage())
            . ($detail ? " detail=$detail" : '');
        [$unauthorized, $vendor_code] = is_unauthorized($f);
        if (str_starts_with($case, 'bad') && $unauthorized) return [$vendor_code ? 'green' : 'partial', $seen];
        if (str_starts_with($case, 'not-found') && strpos($f->getMessage() . $detail, 'was not found') !== false) return ['green', $seen];
        return ['red', $seen];
    } catch (Throwable $e) {
        return ['red', get_class($e) . ': ' . substr($e->getMessage(), 0, 160)];
    }
    if ($case === 'found') {
        $wrong = array_map(fn($check) => $check[0], array_filter(flow_checks($r), fn($check) => !$check[1]));
        $pages = count(many($r->page ?? null));
        return $wrong ? ['red', "$pages pages, WRONG: " . implode(', ', $wrong)] : ['green', "$pages pages, titles/inputs/photos intact"];
    }
    if ($case === 'empty') return [isset($r->page) ? 'red' : 'green', 'object without page, no error'];
    if (str_starts_with($case, 'not-found')) {
        $seen = 'result ' . json_encode($r) . (strpos($c->__getLastResponse(), $E['not_found_text']) !== false ? '; the sentence is only in __getLastResponse()' : '');
        return ['partial', $seen];
    }
    return ['red', 'no fault: ' . substr(json_encode($r), 0, 160)];
}

if (count($argv) === 5) {
    [$color, $seen] = cell($argv[1], $argv[2], $argv[3], $argv[4]);
    echo "CELL $color $seen\n";
} else {
    exit(suite($argv[1], $argv[2]));
}
