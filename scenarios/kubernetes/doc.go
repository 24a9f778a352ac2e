// Package kubernetes holds the manifests that run one ssebench scenario as
// shards of a Kubernetes Indexed Job and merge their results into one
// verdict (see README, "Kubernetes"):
//
//   - scenario-configmap.yaml: the scenario (ConfigMap ssebench-scenario);
//   - results-pvc.yaml: the shared results volume (ReadWriteMany PVC);
//   - shards-job.yaml: the Indexed Job ssebench-shards, one shard per pod
//     (--shard-index=$(JOB_COMPLETION_INDEX)), all starting at the time in
//     the ConfigMap ssebench-start, each writing
//     /results/shard-INDEX-POD.json;
//   - merge-job.yaml: the Job ssebench-merge, 'ssebench report' over
//     /results/shard-*.json: one verdict (its exit code), one JUnit;
//   - results-pod.yaml: a pod to copy the results out with kubectl cp;
//   - mock.yaml: the ssebench mock as a target to try it against;
//   - Dockerfile: an image whose entrypoint is ssebench.
//
// The package embeds them for its tests, which decode each one strictly
// into the k8s.io/api types and check what must agree across them, and for
// the end-to-end test that runs the shards and the merge as local
// processes.
package kubernetes

import "embed"

// Manifests are the YAML files of this directory.
//
//go:embed *.yaml
var Manifests embed.FS
