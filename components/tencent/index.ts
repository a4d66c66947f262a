/** sshremedy's Tencent Cloud client: settings, the API call, TAT, CBS snapshots, CVM state, security groups. */
export * from "./settings";
export * from "./api";
export * from "./cvm";
export * from "./cbs";
export * from "./tat";
export * from "./security-group";
