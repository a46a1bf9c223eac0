// slack.mjs - how much slower than usual the Janus under test may be.
//
// SFU_E2E_SLACK (default 1) multiplies the harness's timeouts and the few timing tolerances of the tests.
// scripts/test.sh sets it when it runs e2e files against the plugin built with ASan+UBSan, which makes
// Janus several times slower (and some requests, like a 1 MB SDP, tens of times slower).
export const SLACK = Math.max(1, Number(process.env.SFU_E2E_SLACK) || 1);

/** `ms` stretched by the slack. */
export const slack = (ms) => Math.round(ms * SLACK);
