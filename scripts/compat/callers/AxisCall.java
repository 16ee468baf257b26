// One matrix cell with the Axis 1.4 stub that WSDL2Java generated from the served WSDL (SOAP 1.1):
//   java AxisCall WSDL ENDPOINT 1.1 CASE   (expectations in EXP_* variables; see run-matrix.sh)
import com.jacada.interact.interactiondata.soap.*;
import java.net.URL;
import java.util.*;
import org.apache.axis.AxisFault;
import org.apache.axis.client.Stub;
import org.apache.axis.transport.http.HTTPConstants;

public class AxisCall {
    static void cell(String color, String text) {
        System.out.println("CELL " + color + " " + text);
        System.exit(0);
    }

    static String env(String name) {
        return System.getenv(name);
    }

    static <T> List<T> many(T[] items) {
        return items == null ? Collections.<T>emptyList() : Arrays.asList(items);
    }

    public static void main(String[] a) throws Exception {
        String endpoint = a[1], kase = a[3];
        InteractionData port = new InteractionDataServiceLocator().getInteractionDataSoap11(new URL(endpoint));
        Hashtable<String, String> headers = new Hashtable<>();
        headers.put("Tenant-Id", env("EXP_TENANT"));
        headers.put("Application-Key", kase.startsWith("bad") ? "wrong-key" : env("EXP_KEY"));
        ((Stub) port)._setProperty(HTTPConstants.REQUEST_HEADERS, headers);
        GetInteractionFullFlowByUUIDRequest request = new GetInteractionFullFlowByUUIDRequest();
        request.setUniqueId(kase.startsWith("not-found") ? env("EXP_NOT_FOUND_ID") : kase.equals("empty") ? env("EXP_EMPTY_ID") : env("EXP_FOUND_ID"));
        Page[] result;
        try {
            result = port.getInteractionFullFlowByUUID(request);
        } catch (AxisFault f) {
            StringBuilder detail = new StringBuilder();
            if (f.getFaultDetails() != null) for (org.w3c.dom.Element e : f.getFaultDetails()) detail.append(e.getTextContent()).append(' ');
            String code = String.valueOf(f.getFaultCode());
            String seen = "AxisFault code=" + code + " string=" + f.getFaultString() + (detail.length() == 0 ? "" : " detail=" + detail.toString().trim());
            if (kase.startsWith("bad") && env("EXP_UNAUTHORIZED").equals(f.getFaultString())) {
                cell((code + detail).contains(env("EXP_VENDOR_CODE")) ? "green" : "partial", seen);
            }
            if (kase.startsWith("not-found") && String.valueOf(f.getFaultString()).contains("was not found")) cell("green", seen);
            cell("red", seen);
            return;
        } catch (Exception e) {
            cell("red", e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replace('\n', ' '));
            return;
        }
        List<Page> pages = many(result);
        if (kase.equals("found")) {
            List<String> titles = new ArrayList<>(), values = new ArrayList<>(), images = new ArrayList<>();
            for (Page p : pages) {
                titles.add(p.getPageNavigation().getNavigationTitle());
                for (Section s : many(p.getPageContent().getContentSections())) {
                    for (SectionChoice c : many(s.getSectionChoices())) {
                        values.add(c.getChoiceValue());
                        if (c.getUploadImageList() != null) for (Image i : many(c.getUploadImageList().getImages())) images.add(i.getImagePath());
                    }
                }
            }
            boolean ok = String.join("|", titles).equals(env("EXP_TITLES")) && values.contains(env("EXP_DAMAGE"))
                    && values.contains(env("EXP_SERIAL")) && String.join("|", images).equals(env("EXP_IMAGES"));
            cell(ok ? "green" : "red", pages.size() + " pages, titles/inputs/photos " + (ok ? "intact" : "WRONG " + titles));
        }
        if (kase.equals("empty")) cell(pages.isEmpty() ? "green" : "red", "Page[" + pages.size() + "], no error");
        if (kase.startsWith("not-found")) {
            boolean blank = pages.size() == 1 && pages.get(0).getPageNavigation() == null;
            cell("partial", "Page[" + pages.size() + "]" + (blank ? " whose members are all null" : "") + ", no error");
        }
        cell("red", "no fault");
    }
}
