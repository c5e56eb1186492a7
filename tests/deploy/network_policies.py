"""What the NetworkPolicies of a rendered overlay allow, pod by pod (the way a CNI adds them up).

Every pod of the namespace (a Deployment's or StatefulSet's template) gets the set of
`Allowance`s of the policies that select it for a direction. A peer is named by what it is:
`pod:<workload>` (pods of this namespace, one allowance per matching workload), `dns` (the
cluster DNS in kube-system), `namespace:<name>` (every pod of that namespace), `cidr:<block>`
(an ipBlock), or `anything` (a rule without peers). Named ports are resolved to numbers against
the pods that listen on them, so a test compares plain port numbers.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from tests.deploy.kustomize import Manifest, containers, workloads

Direction = Literal["Ingress", "Egress"]
NAME = "kubernetes.io/metadata.name"
DNS_PEER = {
    "namespaceSelector": {"matchLabels": {NAME: "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


class Allowance(NamedTuple):
    """One peer on one port: what a policy lets a pod reach (egress) or be reached by (ingress)."""

    peer: str
    protocol: str
    port: int | str


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        found = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not found:
            return False
    return True


def pod_labels(manifests: list[Manifest]) -> dict[str, dict[str, str]]:
    """Each workload's pod labels, by workload name."""
    return {
        w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"]
        for w in workloads(manifests)
    }


def named_ports(manifests: list[Manifest]) -> dict[str, dict[str, int]]:
    """Each workload's container ports by name, by workload name."""
    return {
        workload["metadata"]["name"]: {
            port["name"]: port["containerPort"]
            for container in containers(workload)
            for port in container.get("ports", [])
            if "name" in port
        }
        for workload in workloads(manifests)
    }


def policies(manifests: list[Manifest]) -> list[Manifest]:
    """The NetworkPolicies."""
    return [m for m in manifests if m["kind"] == "NetworkPolicy"]


def selected(policy: Manifest, labels: dict[str, str]) -> bool:
    """Whether a policy applies to a pod with these labels (its podSelector matches)."""
    return matches(policy["spec"]["podSelector"], labels)


def _peers(peer: dict[str, Any], pods: dict[str, dict[str, str]]) -> list[tuple[str, list[str]]]:
    """A rule's peer as names, each with the workloads of this namespace it stands for."""
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        excepted = "".join(f" except {cidr}" for cidr in block.get("except", []))
        return [(f"cidr:{block['cidr']}{excepted}", [])]
    if peer == DNS_PEER:
        return [("dns", [])]
    if "namespaceSelector" in peer:
        namespace = peer["namespaceSelector"].get("matchLabels", {}).get(NAME, "<any>")
        if "podSelector" in peer:
            return [(f"namespace:{namespace} pods:{peer['podSelector']}", [])]
        return [(f"namespace:{namespace}", [])]
    return [
        (f"pod:{name}", [name])
        for name, labels in pods.items()
        if matches(peer["podSelector"], labels)
    ]


def allowed(manifests: list[Manifest], direction: Direction) -> dict[str, set[Allowance]]:
    """For every workload, what the policies that select it allow in one direction."""
    pods = pod_labels(manifests)
    ports_of = named_ports(manifests)
    key, side = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    result: dict[str, set[Allowance]] = {name: set() for name in pods}
    for name, labels in pods.items():
        for policy in policies(manifests):
            if direction not in policy["spec"].get("policyTypes", []) or not selected(
                policy, labels
            ):
                continue
            for rule in policy["spec"].get(key, []):
                peers = [found for peer in rule.get(side, []) for found in _peers(peer, pods)]
                for peer, listeners in peers or [("anything", [])]:
                    # Ingress ports are this pod's; egress ports are the peer pods'.
                    owners = [name] if direction == "Ingress" else listeners
                    for port in rule.get("ports") or [{"port": "any"}]:
                        number = port["port"]
                        if isinstance(number, str) and number != "any" and owners:
                            resolved = {ports_of[owner].get(number) for owner in owners}
                            (number,) = resolved  # one number for every pod it names
                        protocol = port.get("protocol", "TCP")
                        result[name].add(Allowance(peer, protocol, number))
    return result


def default_denies(manifests: list[Manifest], direction: Direction) -> bool:
    """Whether a policy selects every pod for this direction and allows nothing."""
    key = "ingress" if direction == "Ingress" else "egress"
    return any(
        policy["spec"]["podSelector"] == {}
        and direction in policy["spec"].get("policyTypes", [])
        and not policy["spec"].get(key)
        for policy in policies(manifests)
    )
