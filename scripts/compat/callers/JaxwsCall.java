// One matrix cell with the JAX-WS RI client that wsimport generated from the served WSDL:
//   java JaxwsCall WSDL ENDPOINT 1.1|1.2 CASE   (expectations in EXP_* variables; see run-matrix.sh)
import com.jacada.interact.interactiondata.soap.*;
import java.net.URL;
import java.util.*;
import javax.xml.namespace.QName;
import javax.xml.ws.BindingProvider;
import javax.xml.ws.handler.MessageContext;
import javax.xml.ws.soap.SOAPFaultException;

public class JaxwsCall {
    static void cell(String color, String text) {
        System.out.println("CELL " + color + " " + text);
        System.exit(0);
    }

    static String env(String name) {
        return System.getenv(name);
    }

    public static void main(String[] a) throws Exception {
        String wsdl = a[0], endpoint = a[1], version = a[2], kase = a[3];
        InteractionDataService service =
                new InteractionDataService(new URL(wsdl), new QName("http://com/jacada/interact/interactiondata/soap", "InteractionDataService"));
        InteractionData port = version.equals("1.1") ? service.getInteractionDataSoap11() : service.getInteractionDataSoap12();
        Map<String, Object> ctx = ((BindingProvider) port).getRequestContext();
        ctx.put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, endpoint);
        Map<String, List<String>> headers = new HashMap<>();
        headers.put("Tenant-Id", Collections.singletonList(env("EXP_TENANT")));
        headers.put("Application-Key", Collections.singletonList(kase.startsWith("bad") ? "wrong-key" : env("EXP_KEY")));
        ctx.put(MessageContext.HTTP_REQUEST_HEADERS, headers);
        GetInteractionFullFlowByUUIDRequest request = new GetInteractionFullFlowByUUIDRequest();
        request.setUniqueId(kase.startsWith("not-found") ? env("EXP_NOT_FOUND_ID") : kase.equals("empty") ? env("EXP_EMPTY_ID") : env("EXP_FOUND_ID"));
        GetInteractionFullFlowByUUIDResponse response;
        try {
            response = port.getInteractionFullFlowByUUID(request);
        } catch (SOAPFaultException f) {
            String code = f.getFault().getFaultCode();
            String detail = f.getFault().getDetail() == null ? "" : f.getFault().getDetail().getTextContent();
            String seen = "SOAPFaultException code=" + code + " string=" + f.getFault().getFaultString() + (detail.isEmpty() ? "" : " detail=" + detail);
            if (kase.startsWith("bad") && env("EXP_UNAUTHORIZED").equals(f.getFault().getFaultString())) {
                cell((code + detail).contains(env("EXP_VENDOR_CODE")) ? "green" : "partial", seen);
            }
            if (kase.startsWith("not-found") && f.getFault().getFaultString().contains("was not found")) cell("green", seen);
            cell("red", seen);
            return;
        } catch (Exception e) {
            cell("red", e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replace('\n', ' '));
            return;
        }
        List<Page> pages = response == null ? Collections.emptyList() : response.getPage();
        if (kase.equals("found")) {
            List<String> titles = new ArrayList<>(), values = new ArrayList<>(), images = new ArrayList<>();
            for (Page p : pages) {
                titles.add(p.getPageNavigation().getNavigationTitle());
                for (Section s : p.getPageContent().getContentSections()) {
                    for (SectionChoice c : s.getSectionChoices()) {
                        values.add(c.getChoiceValue());
                        if (c.getUploadImageList() != null) for (Image i : c.getUploadImageList().getImages()) images.add(i.getImagePath());
                    }
                }
            }
            boolean ok = String.join("|", titles).equals(env("EXP_TITLES")) && values.contains(env("EXP_DAMAGE"))
                    && values.contains(env("EXP_SERIAL")) && String.join("|", images).equals(env("EXP_IMAGES"));
            cell(ok ? "green" : "red", pages.size() + " pages, titles/inputs/photos " + (ok ? "intact" : "WRONG " + titles));
        }
        if (kase.equals("empty")) cell(pages.isEmpty() ? "green" : "red", "getPage() size " + pages.size() + ", no error");
        if (kase.startsWith("not-found")) cell("partial", "getPage() size " + pages.size() + ", no error: cannot be told from EMPTY");
        cell("red", "no fault");
    }
}
