// Types of chromium-args.mjs for playwright.config.ts.
export declare const CHROMIUM_ARGS: string[];
