// The report's public surface, for `make bench` and the CLIs.
export { InputError } from "./input.js";
export { type ReportOptions, type ReportSummary, writeReport } from "./report.js";
