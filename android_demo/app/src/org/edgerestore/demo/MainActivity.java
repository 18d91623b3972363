package org.edgerestore.demo;

import android.app.Activity;
import android.content.Intent;
import android.content.res.AssetManager;
import android.net.Uri;
import android.os.Build;
import android.os.Bundle;
import android.view.View;
import android.view.WindowInsets;
import android.webkit.ValueCallback;
import android.webkit.WebChromeClient;
import android.webkit.WebResourceRequest;
import android.webkit.WebResourceResponse;
import android.webkit.WebSettings;
import android.webkit.WebView;
import android.webkit.WebViewClient;
import android.widget.FrameLayout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One Activity: a WebView that shows the web demo bundled in the APK's assets/web/.
 *
 * Files are served under https://appassets.androidplatform.net/ (the host name that
 * androidx.webkit.WebViewAssetLoader uses for the same purpose) by intercepting every
 * request in shouldInterceptRequest, so the page gets a secure https origin and the
 * Cross-Origin-Opener-Policy / Cross-Origin-Embedder-Policy headers that make it
 * cross-origin isolated: SharedArrayBuffer, and with it multi-threaded WebAssembly, is
 * only available to such pages. Requests for any other host are refused, so the demo
 * never talks to the network.
 *
 * Edge-to-edge: targeting API 35, Android 15 draws the window under the status and
 * navigation bars (and display cutout). The WebView sits in a FrameLayout padded by
 * those insets, so no control of the page is hidden under a bar; the padding shows the
 * frame's dark background behind the (light-icon) bars. On older releases the insets
 * reaching the content view are zero and nothing changes.
 */
public class MainActivity extends Activity {
    static final String HOST = "appassets.androidplatform.net";
    static final String START = "https://" + HOST + "/index.html";
    private static final int PICK_FILE = 1;

    private WebView web;
    private ValueCallback<Uri[]> pendingChooser;

    @Override
    protected void onCreate(Bundle state) {
        super.onCreate(state);
        web = new WebView(this);
        WebSettings s = web.getSettings();
        s.setJavaScriptEnabled(true);
        s.setDomStorageEnabled(true);
        s.setAllowFileAccess(false);
        s.setAllowContentAccess(true);
        s.setMediaPlaybackRequiresUserGesture(true);
        web.setWebViewClient(new AssetClient(getAssets()));
        web.setWebChromeClient(new Chrome());
        FrameLayout frame = new FrameLayout(this);
        frame.setBackgroundColor(0xff1b1b1b);
        frame.addView(web, new FrameLayout.LayoutParams(
                FrameLayout.LayoutParams.MATCH_PARENT, FrameLayout.LayoutParams.MATCH_PARENT));
        frame.setOnApplyWindowInsetsListener(new View.OnApplyWindowInsetsListener() {
            @Override
            public WindowInsets onApplyWindowInsets(View v, WindowInsets insets) {
                int[] cut = cutoutInsets(insets);
                v.setPadding(Math.max(insets.getSystemWindowInsetLeft(), cut[0]),
                        Math.max(insets.getSystemWindowInsetTop(), cut[1]),
                        Math.max(insets.getSystemWindowInsetRight(), cut[2]),
                        Math.max(insets.getSystemWindowInsetBottom(), cut[3]));
                return insets.consumeSystemWindowInsets();
            }
        });
        setContentView(frame);
        if (state == null) {
            web.loadUrl(START);
        } else {
            web.restoreState(state);
        }
    }

    /**
     * The display cutout's safe insets (left, top, right, bottom), zero before API 28.
     * Called reflectively because the build's android.jar is API 23 (the newest that
     * Debian packages; see app/build.sh), which has no DisplayCutout class.
     */
    static int[] cutoutInsets(WindowInsets insets) {
        int[] out = new int[4];
        if (Build.VERSION.SDK_INT < 28) {
            return out;
        }
        try {
            Object cutout = WindowInsets.class.getMethod("getDisplayCutout").invoke(insets);
            if (cutout != null) {
                String[] names = {"getSafeInsetLeft", "getSafeInsetTop", "getSafeInsetRight",
                                  "getSafeInsetBottom"};
                for (int i = 0; i < 4; i++) {
                    Method m = cutout.getClass().getMethod(names[i]);
                    out[i] = (Integer) m.invoke(cutout);
                }
            }
        } catch (ReflectiveOperationException e) {
            // Not a platform with the API 28 methods after all: system-bar insets only.
        }
        return out;
    }

    @Override
    protected void onSaveInstanceState(Bundle out) {
        super.onSaveInstanceState(out);
        web.saveState(out);
    }

    @Override
    public void onBackPressed() {
        if (web.canGoBack()) {
            web.goBack();
        } else {
            super.onBackPressed();
        }
    }

    /** The page's &lt;input type=file capture&gt; opens the system picker / camera. */
    private final class Chrome extends WebChromeClient {
        @Override
        public boolean onShowFileChooser(WebView view, ValueCallback<Uri[]> callback,
                                         FileChooserParams params) {
            if (pendingChooser != null) {
                pendingChooser.onReceiveValue(null);
            }
            pendingChooser = callback;
            try {
                startActivityForResult(params.createIntent(), PICK_FILE);
            } catch (RuntimeException e) {
                pendingChooser = null;
                return false;
            }
            return true;
        }
    }

    @Override
    protected void onActivityResult(int request, int result, Intent data) {
        if (request == PICK_FILE && pendingChooser != null) {
            pendingChooser.onReceiveValue(WebChromeClient.FileChooserParams.parseResult(result, data));
            pendingChooser = null;
            return;
        }
        super.onActivityResult(request, result, data);
    }

    /** Serves assets/web/ for https://HOST/ with COOP/COEP headers; blocks other hosts. */
    static final class AssetClient extends WebViewClient {
        private final AssetManager assets;

        AssetClient(AssetManager assets) {
            this.assets = assets;
        }

        // The String variant: the WebResourceRequest one is API 24, and on 24+ its default
        // implementation calls this one. Links to other hosts are not followed.
        @Override
        @SuppressWarnings("deprecation")
        public boolean shouldOverrideUrlLoading(WebView view, String url) {
            return !HOST.equals(Uri.parse(url).getHost());
        }

        @Override
        public WebResourceResponse shouldInterceptRequest(WebView view, WebResourceRequest request) {
            Uri url = request.getUrl();
            if (!HOST.equals(url.getHost()) || !"https".equals(url.getScheme())) {
                return respond(403, "Forbidden", "text/plain", null);
            }
            String path = url.getPath();
            if (path == null || path.isEmpty() || path.endsWith("/")) {
                path = (path == null ? "/" : path) + "index.html";
            }
            if (path.contains("..")) {
                return respond(403, "Forbidden", "text/plain", null);
            }
            try {
                InputStream in = assets.open("web" + path);
                return respond(200, "OK", mimeType(path), in);
            } catch (IOException e) {
                return respond(404, "Not Found", "text/plain", null);
            }
        }

        static WebResourceResponse respond(int code, String reason, String mime, InputStream body) {
            Map<String, String> headers = new HashMap<>();
            headers.put("Cross-Origin-Opener-Policy", "same-origin");
            headers.put("Cross-Origin-Embedder-Policy", "require-corp");
            headers.put("Cross-Origin-Resource-Policy", "same-origin");
            headers.put("Cache-Control", "no-cache");
            String encoding = mime.startsWith("text/") || mime.endsWith("javascript")
                    || mime.endsWith("json") ? "utf-8" : null;
            if (body == null) {
                body = new ByteArrayInputStream(new byte[0]);
            }
            return new WebResourceResponse(mime, encoding, code, reason, headers, body);
        }

        static String mimeType(String path) {
            String p = path.toLowerCase(Locale.ROOT);
            if (p.endsWith(".html")) return "text/html";
            if (p.endsWith(".js") || p.endsWith(".mjs")) return "text/javascript";
            if (p.endsWith(".css")) return "text/css";
            if (p.endsWith(".json")) return "application/json";
            if (p.endsWith(".wasm")) return "application/wasm";
            if (p.endsWith(".png")) return "image/png";
            if (p.endsWith(".jpg") || p.endsWith(".jpeg")) return "image/jpeg";
            if (p.endsWith(".svg")) return "image/svg+xml";
            return "application/octet-stream";
        }
    }
}
