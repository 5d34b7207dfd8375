// The flags of every Chromium the suite and the browser benchmarks launch (Debian's /usr/bin/chromium,
// headless), shared by playwright.config.ts and bench/*.mjs.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // - WebRtcHideLocalIpsWithMdns: local WebRTC must use plain host candidates (no mDNS .local names).
  // - WebUIOmnibox*Popup: headless Chromium 156 otherwise starts one extra renderer per browser context for the
  //   address bar's popup (a WebUI page nobody sees). A join burst of 9 contexts on 2 cores spent a large share
  //   of its CPU there: 8-client burst p50 3.6-3.8 s with them, 2.2-2.5 s without (docs/performance.md).
  // Chromium keeps the last --disable-features it is given, so this list replaces the one Playwright passes (as
  // it always has here); adding Playwright's list back made no difference in four alternating join bursts.
  '--disable-features=WebRtcHideLocalIpsWithMdns,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup',
];
