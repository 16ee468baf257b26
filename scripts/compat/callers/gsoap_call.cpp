// One matrix cell with the gSOAP C++ proxies that wsdl2h/soapcpp2 generated from the served WSDL:
//   call WSDL ENDPOINT 1.1|1.2 CASE   (expectations in EXP_* variables; see run-matrix.sh)
// Built twice by run-matrix.sh: in soap11/ (soapcpp2 -1, InteractionDataSoap11Proxy) and in soap12/.
#include "soapInteractionDataSoap11Proxy.h"
#include "soapInteractionDataSoap12Proxy.h"
#include "InteractionDataSoap11.nsmap"
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

static std::string env(const char *name) { const char *v = std::getenv(name); return v ? v : ""; }
static int cell(const std::string &color, const std::string &text) {
  std::cout << "CELL " << color << " " << text << std::endl;
  return 0;
}
static std::string join(const std::vector<std::string> &v) {
  std::string out;
  for (size_t i = 0; i < v.size(); i++) out += (i ? "|" : "") + v[i];
  return out;
}
static bool contains(const std::vector<std::string> &v, const std::string &s) {
  for (const auto &x : v) if (x == s) return true;
  return false;
}

template <typename Proxy>
static int run(Proxy &proxy, const std::string &kase) {
  std::string key = kase.compare(0, 3, "bad") == 0 ? "wrong-key" : env("EXP_KEY");
  std::string headers = "Tenant-Id: " + env("EXP_TENANT") + "\r\nApplication-Key: " + key;
  proxy.soap->http_extra_header = headers.c_str();
  _ixd__GetInteractionFullFlowByUUIDRequest request;
  request.uniqueId = kase.compare(0, 9, "not-found") == 0 ? env("EXP_NOT_FOUND_ID") : kase == "empty" ? env("EXP_EMPTY_ID") : env("EXP_FOUND_ID");
  _ixd__GetInteractionFullFlowByUUIDResponse response;
  if (proxy.GetInteractionFullFlowByUUID(&request, response) != SOAP_OK) {
    std::ostringstream fault;
    proxy.soap_stream_fault(fault);
    std::string seen = fault.str();
    for (auto &c : seen) if (c == '\n' || c == '\r') c = ' ';
    seen = "error: " + seen.substr(0, 220);
    if (kase.compare(0, 3, "bad") == 0 && seen.find(env("EXP_UNAUTHORIZED")) != std::string::npos)
      return cell(seen.find(env("EXP_VENDOR_CODE")) != std::string::npos ? "green" : "partial", seen);
    if (kase.compare(0, 9, "not-found") == 0 && seen.find("was not found") != std::string::npos) return cell("green", seen);
    return cell("red", seen);
  }
  if (kase == "found") {
    std::vector<std::string> titles, values, images;
    for (ixd__Page *p : response.page) {
      titles.push_back(p->pageNavigation->navigationTitle);
      for (ixd__Section *s : p->pageContent->contentSections)
        for (ixd__SectionChoice *c : s->sectionChoices) {
          values.push_back(c->choiceValue);
          if (c->__union_SectionChoice == SOAP_UNION__ixd__union_SectionChoice_uploadImageList)
            for (ixd__Image *i : c->union_SectionChoice.uploadImageList->images) images.push_back(i->imagePath);
        }
    }
    bool ok = join(titles) == env("EXP_TITLES") && contains(values, env("EXP_DAMAGE")) && contains(values, env("EXP_SERIAL")) &&
              join(images) == env("EXP_IMAGES");
    return cell(ok ? "green" : "red", std::to_string(response.page.size()) + " pages, titles/inputs/photos " + (ok ? "intact" : "WRONG"));
  }
  if (kase == "empty") return cell(response.page.empty() ? "green" : "red", std::to_string(response.page.size()) + " pages, SOAP_OK");
  return cell("red", "no fault");
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  std::string endpoint = argv[2], version = argv[3], kase = argv[4];
  if (version == "1.1") {
    InteractionDataSoap11Proxy proxy(endpoint.c_str());
    return run(proxy, kase);
  }
  InteractionDataSoap12Proxy proxy(endpoint.c_str());
  return run(proxy, kase);
}
