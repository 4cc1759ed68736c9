import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// Built to web/dist, which loyaltyd serves at / (--web-dir). Hashed file names under assets/
// are cached for a year; index.html never is. No inline scripts: the daemon's
// Content-Security-Policy allows only 'self'. The size that matters is the first load gzipped,
// which scripts/size-budget.mjs checks after every build (300 KiB); Vite's own warning, on any
// chunk over 500 kB before compression, would only repeat it less exactly.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024,
  },
  server: { proxy: { "/v1": "http://127.0.0.1:8080", "/public": "http://127.0.0.1:8080" } },
});
