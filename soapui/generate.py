#!/usr/bin/env python3
"""Writes soapui/interaction-history-gateway-soapui-project.xml from the repository's WSDL and the
`found` golden requests of fixtures/soap/, so that the SoapUI project and the tested fixtures never
drift apart (crates/server/tests/soap.rs checks that they are the same, byte for byte).

    python3 soapui/generate.py

The project: both bindings (SOAP 1.1 and 1.2) with the WSDL embedded (the definition URL is the demo's
served WSDL), one request per operation and version, and a test suite with one test case per version
and one step per operation, each asserting a SOAP response, HTTP 200, no SOAP fault and an XPath on
the answer (a page title for the flows and summaries). Endpoint, tenant and key are project
properties (`endpoint`, `tenant`, `key`), set for `ixgw serve --demo` on 127.0.0.1:8080.
"""
import os
import uuid
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "interaction-history-gateway-soapui-project.xml")
TNS = "http://com/jacada/interact/interactiondata/soap"
AGENT = "http://com/jacada/interact/agent/soap"
WSDL_URL = "http://127.0.0.1:8080/interact/version/2/interactiondata/soap?wsdl"
ENDPOINT = "http://127.0.0.1:8080/interact/version/2/interactiondata/soap"

# operation -> (namespace of the answer, XPath in SoapUI's syntax, expected value)
OPERATIONS = {
    "GetInteractionFullFlowByUUID": (TNS, "//ns2:page[1]/ns2:pageNavigation/ns2:navigationTitle", "Repairs & Returns"),
    "GetInteractionFullFlowByCallerAttribute": (TNS, "//ns2:page[1]/ns2:pageNavigation/ns2:navigationTitle", "Repairs & Returns"),
    "GetInteractionSummaryByUUID": (TNS, "//ns2:page[1]/ns2:pageTitle", "Repairs & Returns"),
    "GetInteractionSummaryByCallerAttribute": (TNS, "//ns2:page[1]/ns2:pageTitle", "Repairs & Returns"),
    "GetVariableSetByUUID": (TNS, "//ns2:voice/ns2:data/ns2:entry[1]/ns2:value", "Jane"),
    "GetVariableSetByCallerAttribute": (TNS, "//ns2:voice/ns2:data/ns2:entry[1]/ns2:value", "INV-2026-06-88121"),
    "GetInteractionUniqueId": (AGENT, "//ns2:GetInteractionUniqueIdResponse/ns2:uniqueId", "040100713"),
}
VERSIONS = [("soap11", "InteractionDataSoap11", "1_1", "SOAP 1.1"), ("soap12", "InteractionDataSoap12", "1_2", "SOAP 1.2")]


def ident(*parts):
    # Stable ids, so that regenerating gives the same file.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "ixgw-soapui:" + "/".join(parts)))


def request_body(version_dir, op):
    with open(os.path.join(ROOT, "fixtures", "soap", op, version_dir, "found.request.xml"), encoding="utf-8") as f:
        return f.read()


def cdata(text):
    assert "]]>" not in text
    return "<![CDATA[" + text + "]]>"


def headers_setting():
    fragment = ('<xml-fragment xmlns:con="http://eviware.com/soapui/config">\n'
                '  <con:entry key="Tenant-Id" value="${#Project#tenant}"/>\n'
                '  <con:entry key="Application-Key" value="${#Project#key}"/>\n'
                '</xml-fragment>')
    return ('<con:settings><con:setting id="com.eviware.soapui.impl.wsdl.WsdlRequest@request-headers">'
            + escape(fragment) + "</con:setting></con:settings>")


def interface(version_dir, binding, soap_version, wsdl):
    out = [f'  <con:interface xsi:type="con:WsdlInterface" id="{ident(binding)}" wsaVersion="NONE" name="{binding}" '
           f'type="wsdl" bindingName="{{{TNS}}}{binding}" soapVersion="{soap_version}" anonymous="optional" '
           f'definition="{WSDL_URL}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
           "    <con:settings/>",
           f'    <con:definitionCache type="TEXT" rootPart="{WSDL_URL}">',
           "      <con:part>",
           f"        <con:url>{WSDL_URL}</con:url>",
           f"        <con:content>{cdata(wsdl)}</con:content>",
           "        <con:type>http://schemas.xmlsoap.org/wsdl/</con:type>",
           "      </con:part>",
           "    </con:definitionCache>",
           f"    <con:endpoints><con:endpoint>{ENDPOINT}</con:endpoint></con:endpoints>"]
    for op in OPERATIONS:
        out += [f'    <con:operation id="{ident(binding, op)}" isOneWay="false" action="" name="{op}" '
                f'bindingOperationName="{op}" type="Request-Response" outputName="{op}Response" inputName="{op}Request" '
                'receivesAttachments="false" sendsAttachments="false" anonymous="optional">',
                "      <con:settings/>",
                f'      <con:call id="{ident(binding, op, "call")}" name="{op} (demo)">',
                "        " + headers_setting(),
                "        <con:encoding>UTF-8</con:encoding>",
                "        <con:endpoint>${#Project#endpoint}</con:endpoint>",
                f"        <con:request>{cdata(request_body(version_dir, op))}</con:request>",
                "        <con:credentials><con:authType>No Authorization</con:authType></con:credentials>",
                '        <con:jmsConfig JMSDeliveryMode="PERSISTENT"/>',
                "        <con:jmsPropertyConfig/>",
                f'        <con:wsaConfig mustUnderstand="NONE" version="200508" action="{TNS}/InteractionData/{op}Request"/>',
                '        <con:wsrmConfig version="1.2"/>',
                "      </con:call>",
                "    </con:operation>"]
    out.append("  </con:interface>")
    return out


def test_case(version_dir, binding, label):
    out = [f'    <con:testCase id="{ident("case", binding)}" failOnError="false" failTestCaseOnErrors="true" '
           f'keepSession="false" maxResults="0" name="{label} demo" searchProperties="true">',
           "      <con:settings/>"]
    for op, (ns, path, value) in OPERATIONS.items():
        xpath = f"declare namespace ns2='{ns}';\n{path}"
        out += [f'      <con:testStep type="request" id="{ident("step", binding, op)}" name="{op}">',
                "        <con:settings/>",
                '        <con:config xsi:type="con:RequestStep" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
                f"          <con:interface>{binding}</con:interface>",
                f"          <con:operation>{op}</con:operation>",
                f'          <con:request name="{op}" id="{ident("request", binding, op)}">',
                "            " + headers_setting(),
                "            <con:encoding>UTF-8</con:encoding>",
                "            <con:endpoint>${#Project#endpoint}</con:endpoint>",
                f"            <con:request>{cdata(request_body(version_dir, op))}</con:request>",
                f'            <con:assertion type="SOAP Response" id="{ident("a1", binding, op)}" name="SOAP Response"/>',
                f'            <con:assertion type="Valid HTTP Status Codes" id="{ident("a2", binding, op)}" name="HTTP 200">'
                "<con:configuration><codes>200</codes></con:configuration></con:assertion>",
                f'            <con:assertion type="SOAP Fault Assertion" id="{ident("a3", binding, op)}" name="Not SOAP Fault"/>',
                f'            <con:assertion type="XPath Match" id="{ident("a4", binding, op)}" name="XPath Match">',
                "              <con:configuration>",
                f"                <path>{escape(xpath)}</path>",
                f"                <content>{escape(value)}</content>",
                "                <allowWildcards>false</allowWildcards>",
                "                <ignoreNamspaceDifferences>false</ignoreNamspaceDifferences>",
                "                <ignoreComments>false</ignoreComments>",
                "              </con:configuration>",
                "            </con:assertion>",
                "            <con:credentials><con:authType>No Authorization</con:authType></con:credentials>",
                '            <con:jmsConfig JMSDeliveryMode="PERSISTENT"/>',
                "            <con:jmsPropertyConfig/>",
                f'            <con:wsaConfig mustUnderstand="NONE" version="200508" action="{TNS}/InteractionData/{op}Request"/>',
                '            <con:wsrmConfig version="1.2"/>',
                "          </con:request>",
                "        </con:config>",
                "      </con:testStep>"]
    out.append("    </con:testCase>")
    return out


def main():
    with open(os.path.join(ROOT, "wsdl", "interactiondata.wsdl"), encoding="utf-8") as f:
        wsdl = f.read()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<!-- Generated by soapui/generate.py from wsdl/ and fixtures/soap/: edit those, then regenerate. -->",
             f'<con:soapui-project id="{ident("project")}" activeEnvironment="Default" name="Interaction History Gateway" '
             'resourceRoot="" soapui-version="5.7.2" abortOnError="false" runType="SEQUENTIAL" '
             'xmlns:con="http://eviware.com/soapui/config">',
             "  <con:settings/>"]
    for version_dir, binding, soap_version, _ in VERSIONS:
        lines += interface(version_dir, binding, soap_version, wsdl)
    lines += [f'  <con:testSuite id="{ident("suite")}" name="Interact SOAP demo">',
              "    <con:settings/>",
              "    <con:runType>SEQUENTIAL</con:runType>"]
    for version_dir, binding, _, label in VERSIONS:
        lines += test_case(version_dir, binding, label)
    lines += ["    <con:properties/>", "  </con:testSuite>", "  <con:properties>"]
    for name, value in [("endpoint", ENDPOINT), ("tenant", "12345678"), ("key", "demo-application-key")]:
        lines.append(f"    <con:property><con:name>{name}</con:name><con:value>{escape(value)}</con:value></con:property>")
    lines += ["  </con:properties>", "  <con:wssContainer/>", "</con:soapui-project>"]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
