import { isIPv4 } from "net";
import { ApiError, cstTime, isObject, Json, onlyKnown, optFilters, optInt, optString, Params, reqString } from "./params";
import { CallContext, ServiceDef } from "./server";
import { Core, Direction, Policy, SecurityGroupRecord } from "./state";

/**
 * VPC 2017-03-12: security group policies. Ingress and Egress are ordered lists, first match wins,
 * and traffic no rule matches is dropped. Version is the concurrency guard: every change adds one,
 * and a call that passes a Version that is no longer current fails with VersionMismatch. The rules
 * are enforced for real (see firewall.ts) before a change is answered.
 */

const policyKeys = ["PolicyIndex", "Protocol", "Port", "ServiceTemplate", "CidrBlock", "Ipv6CidrBlock", "SecurityGroupId",
    "AddressTemplate", "Action", "PolicyDescription", "ModifyTime"];

/** A policy as a caller gives it (API or test): Protocol, Port, CidrBlock, Action, PolicyDescription. */
export interface PolicyInput {
    readonly Protocol?: string;
    readonly Port?: string;
    readonly CidrBlock?: string;
    readonly Action: string;
    readonly PolicyDescription?: string;
}

function checkPort(port: string): boolean {
    if (port === "ALL") {
        return true;
    }
    return port.split(",").every((part) => {
        const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
        if (!m) {
            return false;
        }
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : Number(m[2]);
        return lo >= 1 && hi <= 65535 && lo <= hi;
    });
}

function checkCidr(cidr: string): boolean {
    const [ip, bits, ...rest] = cidr.split("/");
    return rest.length === 0 && isIPv4(ip) && (bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32));
}

/** Validates one policy and puts it in the form the service stores (upper case, Port ALL when absent). */
export function normalisePolicy(raw: Record<string, Json> | PolicyInput, where: string): Policy {
    const p = raw as Record<string, Json>;
    onlyKnown(p, policyKeys, where);
    for (const unsupported of ["ServiceTemplate", "Ipv6CidrBlock", "SecurityGroupId", "AddressTemplate"]) {
        const v = p[unsupported];
        if (v !== undefined && v !== null && v !== "" && !(isObject(v) && Object.values(v).every((x) => x === "" || x === null))) {
            throw new ApiError("InvalidParameterValue", `${where}${unsupported}: only CidrBlock sources are modelled by this emulator.`);
        }
    }
    const protocol = (optString(p, "Protocol") ?? "ALL").toUpperCase();
    if (!["TCP", "UDP", "ICMP", "ALL"].includes(protocol)) {
        throw new ApiError("InvalidParameterValue", `${where}Protocol must be TCP, UDP, ICMP or ALL; got ${protocol}.`);
    }
    const portText = optString(p, "Port");
    const port = portText === undefined || portText === "" ? "ALL" : portText.toUpperCase();
    if (port !== "ALL" && protocol !== "TCP" && protocol !== "UDP") {
        throw new ApiError("InvalidParameterValue", `${where}Port can only be given with TCP or UDP; got Port ${port} with ${protocol}.`);
    }
    if (!checkPort(port)) {
        throw new ApiError("InvalidParameterValue", `${where}Port must be ALL, a port, a range like 1-9 or a comma list; got ${port}.`);
    }
    const cidr = optString(p, "CidrBlock");
    if (cidr === undefined || cidr === "") {
        throw new ApiError("MissingParameter", `${where}CidrBlock is missing.`);
    }
    if (!checkCidr(cidr)) {
        throw new ApiError("InvalidParameterValue.Malformed", `${where}CidrBlock ${cidr} is not an IPv4 address or CIDR block.`);
    }
    const action = (optString(p, "Action") ?? "").toUpperCase();
    if (action !== "ACCEPT" && action !== "DROP") {
        throw new ApiError("InvalidParameterValue", `${where}Action must be ACCEPT or DROP.`);
    }
    const description = optString(p, "PolicyDescription") ?? "";
    if (description.length > 100) {
        throw new ApiError("InvalidParameterValue", `${where}PolicyDescription is longer than 100 characters.`);
    }
    return { Protocol: protocol, Port: port, CidrBlock: cidr, Action: action, PolicyDescription: description, ModifyTime: cstTime(Date.now()) };
}

function samePolicy(a: Policy, b: Policy): boolean {
    return a.Protocol === b.Protocol && a.Port === b.Port && a.CidrBlock === b.CidrBlock && a.Action === b.Action;
}

function groupOf(core: Core, region: string, id: string): SecurityGroupRecord {
    if (!/^sg-[0-9a-z]{8}$/.test(id)) {
        throw new ApiError("InvalidParameterValue.Malformed", `Malformed security group id ${id} (expected sg-xxxxxxxx).`);
    }
    const g = core.groupIn(region, id);
    if (!g) {
        throw new ApiError("InvalidSecurityGroupID.NotFound", `The security group ${id} does not exist in ${region}.`);
    }
    return g;
}

function checkVersion(g: SecurityGroupRecord, version: Json | undefined): void {
    if (version === undefined || version === null || version === "") {
        return;
    }
    if ((typeof version !== "string" && typeof version !== "number") || String(version) !== String(g.version)) {
        throw new ApiError("UnsupportedOperation.VersionMismatch",
            `The security group ${g.id} is at version ${g.version}, not ${String(version)}: read its policies again.`);
    }
}

/** Inserts policies (at `index`, else at the end) as one change; the shared path of the API and of tests. */
export async function insertPolicies(core: Core, g: SecurityGroupRecord, direction: Direction, policies: readonly Policy[],
    index?: number): Promise<void> {
    const list = g[direction];
    for (const [n, p] of policies.entries()) {
        if (list.some((q) => samePolicy(p, q)) || policies.slice(0, n).some((q) => samePolicy(p, q))) {
            throw new ApiError("UnsupportedOperation.DuplicatePolicy",
                `${direction}: a policy ${p.Action} ${p.Protocol} ${p.Port} from ${p.CidrBlock} already exists in ${g.id}.`);
        }
    }
    if (list.length + policies.length > core.policyLimit) {
        throw new ApiError("LimitExceeded.SecurityGroupPolicySet",
            `${direction} of ${g.id} would hold ${list.length + policies.length} policies; at most ${core.policyLimit} are allowed.`);
    }
    if (index !== undefined && (index < 0 || index > list.length)) {
        throw new ApiError("InvalidParameterValue.Range", `PolicyIndex ${index} is out of range 0..${list.length}.`);
    }
    list.splice(index ?? list.length, 0, ...policies);
    g.version++;
    await core.enforce();
}

/** Removes the policies at `indexes` as one change. */
export async function removePolicies(core: Core, g: SecurityGroupRecord, direction: Direction, indexes: readonly number[]): Promise<void> {
    const list = g[direction];
    for (const i of indexes) {
        if (!Number.isInteger(i) || i < 0 || i >= list.length) {
            throw new ApiError("InvalidParameterValue.Range", `PolicyIndex ${i} is out of range 0..${list.length - 1}.`);
        }
    }
    for (const i of [...new Set(indexes)].sort((a, b) => b - a)) {
        list.splice(i, 1);
    }
    g.version++;
    await core.enforce();
}

/** `SecurityGroupPolicySet` of a Create or Delete call: one direction, its items, the Version. */
function policySet(p: Params): { direction: Direction; items: Record<string, Json>[]; version: Json | undefined } {
    const set = p.SecurityGroupPolicySet;
    if (!isObject(set)) {
        throw new ApiError("MissingParameter", "The request is missing a required parameter `SecurityGroupPolicySet`.");
    }
    onlyKnown(set, ["Version", "Ingress", "Egress", "PolicyStatistics"], "SecurityGroupPolicySet.");
    const given = (["Ingress", "Egress"] as const).filter((d) => Array.isArray(set[d]) && (set[d] as Json[]).length > 0);
    if (given.length === 0) {
        throw new ApiError("MissingParameter", "SecurityGroupPolicySet needs Ingress or Egress policies.");
    }
    if (given.length > 1) {
        throw new ApiError("InvalidParameter.Coexist", "Ingress and Egress cannot be changed in one request.");
    }
    const direction = given[0];
    const items = (set[direction] as Json[]).map((x, n) => {
        if (!isObject(x)) {
            throw new ApiError("InvalidParameter", `SecurityGroupPolicySet.${direction}.${n} must be an object.`);
        }
        return x;
    });
    return { direction, items, version: set.Version };
}

function policyJson(p: Policy, index: number): Record<string, Json> {
    return {
        PolicyIndex: index,
        Protocol: p.Protocol,
        Port: p.Port,
        ServiceTemplate: { ServiceId: "", ServiceGroupId: "" },
        CidrBlock: p.CidrBlock,
        Ipv6CidrBlock: "",
        SecurityGroupId: "",
        AddressTemplate: { AddressId: "", AddressGroupId: "" },
        Action: p.Action,
        PolicyDescription: p.PolicyDescription,
        ModifyTime: p.ModifyTime,
    };
}

function describeSecurityGroupPolicies(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const g = groupOf(core, ctx.region, reqString(p, "SecurityGroupId"));
    const filters = optFilters(p, ["protocol", "port", "action", "description", "ip"], "InvalidParameterValue.Malformed") ?? [];
    const keep = (q: Policy) => filters.every((f) => f.values.includes(
        f.name === "protocol" ? q.Protocol : f.name === "port" ? q.Port : f.name === "action" ? q.Action
            : f.name === "description" ? q.PolicyDescription : q.CidrBlock));
    const list = (d: Direction) => g[d].map((q, i) => [q, i] as const).filter(([q]) => keep(q)).map(([q, i]) => policyJson(q, i));
    return {
        SecurityGroupPolicySet: {
            Version: String(g.version),
            Ingress: list("Ingress"),
            Egress: list("Egress"),
            PolicyStatistics: { IngressPolicyCount: g.Ingress.length, EgressPolicyCount: g.Egress.length, TotalCount: g.Ingress.length + g.Egress.length },
        },
    };
}

async function createSecurityGroupPolicies(core: Core, ctx: CallContext, p: Params): Promise<Record<string, Json>> {
    const g = groupOf(core, ctx.region, reqString(p, "SecurityGroupId"));
    const { direction, items, version } = policySet(p);
    const policies = items.map((x, n) => normalisePolicy(x, `SecurityGroupPolicySet.${direction}.${n}.`));
    const indexes = items.map((x) => optInt(x, "PolicyIndex"));
    if (indexes.some((i) => i === undefined) && indexes.some((i) => i !== undefined)) {
        throw new ApiError("InvalidParameter", "Give PolicyIndex on every policy of the request or on none.");
    }
    checkVersion(g, version);
    // With PolicyIndex, the policies go in together at the first one's index (0 puts them first).
    await insertPolicies(core, g, direction, policies, indexes[0]);
    return {};
}

async function deleteSecurityGroupPolicies(core: Core, ctx: CallContext, p: Params): Promise<Record<string, Json>> {
    const g = groupOf(core, ctx.region, reqString(p, "SecurityGroupId"));
    const { direction, items, version } = policySet(p);
    checkVersion(g, version);
    const byIndex = items.every((x) => x.PolicyIndex !== undefined && x.PolicyIndex !== null);
    let indexes: number[];
    if (byIndex) {
        indexes = items.map((x, n) => {
            onlyKnown(x, policyKeys, `SecurityGroupPolicySet.${direction}.${n}.`);
            return optInt(x, "PolicyIndex") as number;
        });
    } else {
        indexes = items.map((x, n) => {
            const wanted = normalisePolicy(x, `SecurityGroupPolicySet.${direction}.${n}.`);
            const i = g[direction].findIndex((q) => samePolicy(q, wanted));
            if (i < 0) {
                throw new ApiError("ResourceNotFound",
                    `${direction}: no policy ${wanted.Action} ${wanted.Protocol} ${wanted.Port} from ${wanted.CidrBlock} in ${g.id}.`);
            }
            return i;
        });
    }
    await removePolicies(core, g, direction, indexes);
    return {};
}

export function vpcService(core: Core): ServiceDef {
    return {
        version: "2017-03-12",
        actions: {
            DescribeSecurityGroupPolicies: { params: ["SecurityGroupId", "Filters"], run: (ctx, p) => describeSecurityGroupPolicies(core, ctx, p) },
            CreateSecurityGroupPolicies: {
                params: ["SecurityGroupId", "SecurityGroupPolicySet"],
                run: (ctx, p) => createSecurityGroupPolicies(core, ctx, p),
            },
            DeleteSecurityGroupPolicies: {
                params: ["SecurityGroupId", "SecurityGroupPolicySet"],
                run: (ctx, p) => deleteSecurityGroupPolicies(core, ctx, p),
            },
        },
    };
}
