package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/ssebench/ssebench/scenarios"
)

// decodeStrict decodes one YAML document into out as the API server's
// strict field validation does (sigs.k8s.io/json): unknown fields,
// duplicate keys and fields in the wrong case (completionmode) are
// errors, where encoding/json and kubectl's lenient path drop or accept
// them silently.
func decodeStrict(doc []byte, out any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(js, out)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// objects are the manifests decoded, by kind and name.
type objects struct {
	jobs        map[string]*batchv1.Job
	configMaps  map[string]*corev1.ConfigMap
	pvcs        map[string]*corev1.PersistentVolumeClaim
	pods        map[string]*corev1.Pod
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
}

// loadAll decodes every document of every manifest strictly into its
// k8s.io/api type; an unknown kind fails.
func loadAll(t *testing.T) *objects {
	t.Helper()
	o := &objects{map[string]*batchv1.Job{}, map[string]*corev1.ConfigMap{}, map[string]*corev1.PersistentVolumeClaim{},
		map[string]*corev1.Pod{}, map[string]*appsv1.Deployment{}, map[string]*corev1.Service{}}
	names, err := fs.Glob(Manifests, "*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, name := range names {
		b, err := Manifests.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			where := fmt.Sprintf("%s, document %d", name, i+1)
			var tm struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var obj interface{ GetName() string }
			switch tm.APIVersion + " " + tm.Kind {
			case "batch/v1 Job":
				j := &batchv1.Job{}
				obj, o.jobs[nameOf(t, doc)] = j, j
			case "v1 ConfigMap":
				c := &corev1.ConfigMap{}
				obj, o.configMaps[nameOf(t, doc)] = c, c
			case "v1 PersistentVolumeClaim":
				p := &corev1.PersistentVolumeClaim{}
				obj, o.pvcs[nameOf(t, doc)] = p, p
			case "v1 Pod":
				p := &corev1.Pod{}
				obj, o.pods[nameOf(t, doc)] = p, p
			case "apps/v1 Deployment":
				d := &appsv1.Deployment{}
				obj, o.deployments[nameOf(t, doc)] = d, d
			case "v1 Service":
				s := &corev1.Service{}
				obj, o.services[nameOf(t, doc)] = s, s
			default:
				t.Fatalf("%s: unexpected %s %s", where, tm.APIVersion, tm.Kind)
			}
			if err := decodeStrict(doc, obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
	}
	return o
}

func nameOf(t *testing.T, doc []byte) string {
	t.Helper()
	var m struct {
		Metadata struct{ Name string }
	}
	if err := yaml.Unmarshal(doc, &m); err != nil || m.Metadata.Name == "" {
		t.Fatalf("a document without metadata.name (%v):\n%s", err, doc)
	}
	return m.Metadata.Name
}

func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	var j batchv1.Job
	err := decodeStrict([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  completionmode: Indexed\n"), &j)
	if err == nil || !strings.Contains(err.Error(), "completionmode") {
		t.Errorf("misspelt field accepted: %v", err)
	}
	if err := decodeStrict([]byte("a: 1\na: 2\n"), &map[string]int{}); err == nil {
		t.Error("duplicate key accepted")
	}
}

// flagValue returns the value of --name=value in args ("" when absent).
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// container returns the pod spec's only container.
func container(t *testing.T, spec corev1.PodSpec, what string) corev1.Container {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(spec.Containers))
	}
	return spec.Containers[0]
}

// mountOf returns the mount path of the volume backed by claim (or by
// the ConfigMap cm) in spec.
func mountOf(spec corev1.PodSpec, c corev1.Container, claim, cm string) string {
	for _, v := range spec.Volumes {
		pvc := v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim && claim != ""
		cfg := v.ConfigMap != nil && v.ConfigMap.Name == cm && cm != ""
		if !pvc && !cfg {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name {
				return m.MountPath
			}
		}
	}
	return ""
}

// deref prints *p, or "unset".
func deref(p *int32) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(int(*p))
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func TestShardsJob(t *testing.T) {
	o := loadAll(t)
	j := o.jobs["ssebench-shards"]
	if j == nil {
		t.Fatal("no Job ssebench-shards")
	}
	s := j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("completions %s, parallelism %s: want them equal, so that every shard runs at once", deref(s.Completions), deref(s.Parallelism))
	}
	n := int(*s.Completions)
	spec := s.Template.Spec
	c := container(t, spec, "ssebench-shards")
	if c.Name != "ssebench" || len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("container %q args %q: want ssebench run", c.Name, c.Args)
	}
	if got := flagValue(c.Args, "shard-count"); got != strconv.Itoa(n) {
		t.Errorf("--shard-count=%s, want the completions, %d", got, n)
	}
	if !slices.Contains(c.Args, "--shard-index=$(JOB_COMPLETION_INDEX)") {
		t.Errorf("args %q do not pass --shard-index=$(JOB_COMPLETION_INDEX)", c.Args)
	}
	if !slices.Contains(c.Args, "--defer-verdict") {
		t.Errorf("args %q: without --defer-verdict a failed threshold makes the Job retry a shard that ran", c.Args)
	}
	// Retries: per index, never for a usage error; restartPolicy Never
	// (podFailurePolicy requires it).
	if s.BackoffLimitPerIndex == nil || spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("backoffLimitPerIndex %v, restartPolicy %q", s.BackoffLimitPerIndex, spec.RestartPolicy)
	}
	failIndexOn2 := false
	if p := s.PodFailurePolicy; p != nil {
		for _, r := range p.Rules {
			e := r.OnExitCodes
			failIndexOn2 = failIndexOn2 || (r.Action == batchv1.PodFailurePolicyActionFailIndex && e != nil &&
				e.ContainerName != nil && *e.ContainerName == c.Name && e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && slices.Contains(e.Values, 2))
		}
	}
	if !failIndexOn2 {
		t.Error("podFailurePolicy does not fail the index on exit 2 (a usage error is retried)")
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("enableServiceLinks is not false: a Service named ssebench-* injects SSEBENCH_* variables, refused as unknown")
	}

	// One start time for all: the template's env reads it from one
	// ConfigMap key, and no argument overrides it per pod.
	env := map[string]corev1.EnvVar{}
	var defined []string
	for _, e := range c.Env {
		env[e.Name] = e
		defined = append(defined, e.Name)
	}
	st := env["SSEBENCH_START_AT"]
	if st.ValueFrom == nil || st.ValueFrom.ConfigMapKeyRef == nil || st.ValueFrom.ConfigMapKeyRef.Name != "ssebench-start" || st.ValueFrom.ConfigMapKeyRef.Key != "start-at" {
		t.Errorf("SSEBENCH_START_AT = %+v, want it from the ConfigMap ssebench-start, key start-at", st)
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--start-at") }) {
		t.Error("an argument sets --start-at besides the ConfigMap")
	}
	if a := env["SSEBENCH_ATTEMPT_ID"]; a.ValueFrom == nil || a.ValueFrom.FieldRef == nil || a.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("SSEBENCH_ATTEMPT_ID = %+v, want the pod's name", a)
	}
	if r := env["SSEBENCH_RUN_ID"]; r.ValueFrom == nil || r.ValueFrom.FieldRef == nil || r.ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/controller-uid']" {
		t.Errorf("SSEBENCH_RUN_ID = %+v, want the Job's uid", r)
	}
	// Every $(VAR) in the args is one the kubelet expands: the Job's
	// index, or a variable the container defines.
	for _, a := range c.Args {
		for _, m := range varRef.FindAllStringSubmatch(a, -1) {
			if m[1] != "JOB_COMPLETION_INDEX" && !slices.Contains(defined, m[1]) {
				t.Errorf("arg %q: $(%s) is not defined in the container's env", a, m[1])
			}
		}
	}

	// The scenario is the ConfigMap's key, where the volume mounts it.
	sc := c.Args[1]
	dir := mountOf(spec, c, "", "ssebench-scenario")
	cm := o.configMaps["ssebench-scenario"]
	if cm == nil || dir == "" || path.Dir(sc) != dir || cm.Data[path.Base(sc)] == "" {
		t.Fatalf("scenario %s: not the ConfigMap ssebench-scenario's key mounted at %q", sc, dir)
	}
	checkScenario(t, cm.Data[path.Base(sc)], n, o)

	// Results: written to the volume the merge reads, under a name its
	// pattern matches, one per attempt.
	out := flagValue(c.Args, "out")
	claim := "ssebench-results"
	if o.pvcs[claim] == nil {
		t.Fatalf("no PersistentVolumeClaim %s", claim)
	}
	if m := mountOf(spec, c, claim, ""); m == "" || path.Dir(out) != m {
		t.Errorf("--out=%s is not in the results volume (mounted at %q)", out, m)
	}
	m := o.jobs["ssebench-merge"]
	if m == nil {
		t.Fatal("no Job ssebench-merge")
	}
	mc := container(t, m.Spec.Template.Spec, "ssebench-merge")
	pattern := mc.Args[len(mc.Args)-1]
	for i := range n {
		for _, pod := range []string{fmt.Sprintf("ssebench-shards-%d-abcde", i), fmt.Sprintf("ssebench-shards-%d-fghij", i)} {
			got := strings.NewReplacer("$(JOB_COMPLETION_INDEX)", strconv.Itoa(i), "$(SSEBENCH_ATTEMPT_ID)", pod).Replace(out)
			mountM := mountOf(m.Spec.Template.Spec, mc, claim, "")
			ok, err := path.Match(pattern, got)
			if err != nil || !ok || !strings.HasPrefix(got, mountM+"/") {
				t.Errorf("shard %d's result %s is not matched by the merge's %s (volume at %q)", i, got, pattern, mountM)
			}
		}
	}
	if c.Image != mc.Image {
		t.Errorf("images differ: %s and %s", c.Image, mc.Image)
	}
}

// checkScenario decodes the ConfigMap's scenario as ssebench does and
// splits it into n shards, each with load; its target is the mock's
// Service.
func checkScenario(t *testing.T, body string, n int, o *objects) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.DecodeFile(p)
	if err != nil {
		t.Fatalf("the ConfigMap's scenario: %v", err)
	}
	if err := sc.Validate(); err != nil {
		t.Fatalf("the ConfigMap's scenario: %v", err)
	}
	for i := 1; i <= n; i++ {
		if _, err := sc.Shard(i, n); err != nil {
			t.Errorf("shard %d/%d: %v", i, n, err)
		}
	}
	u, err := url.Parse(strings.ReplaceAll(sc.URL, "{{stream}}", "0"))
	if err != nil {
		t.Fatal(err)
	}
	svc := o.services[u.Hostname()]
	if svc == nil || len(svc.Spec.Ports) != 1 || strconv.Itoa(int(svc.Spec.Ports[0].Port)) != u.Port() {
		t.Fatalf("the scenario's host %s is not a Service of mock.yaml", u.Host)
	}
	d := o.deployments["ssebench-mock"]
	if d == nil {
		t.Fatal("no Deployment ssebench-mock")
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v || d.Spec.Selector.MatchLabels[k] != v {
			t.Errorf("the Service selects %s=%s, the Deployment's pods do not have it", k, v)
		}
	}
}

func TestMergeJob(t *testing.T) {
	o := loadAll(t)
	j := o.jobs["ssebench-merge"]
	if j == nil {
		t.Fatal("no Job ssebench-merge")
	}
	spec := j.Spec.Template.Spec
	c := container(t, spec, "ssebench-merge")
	if len(c.Args) < 2 || c.Args[0] != "report" || !slices.Contains(c.Args, "--require-all-shards") {
		t.Errorf("args %q: want report --require-all-shards ... PATTERN", c.Args)
	}
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 0 || spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("backoffLimit %v restartPolicy %q: a verdict must not be retried", j.Spec.BackoffLimit, spec.RestartPolicy)
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("enableServiceLinks is not false")
	}
	m := mountOf(spec, c, "ssebench-results", "")
	for _, f := range []string{"junit", "json", "html"} {
		if v := flagValue(c.Args, f); v == "" || path.Dir(v) != m {
			t.Errorf("--%s=%q is not written to the results volume %q", f, v, m)
		} else if ok, _ := path.Match(c.Args[len(c.Args)-1], v); ok {
			t.Errorf("--%s=%s matches the shards' pattern: a second merge would read it", f, v)
		}
	}
	// The results pod sees the same volume, where the merge wrote.
	p := o.pods["ssebench-results"]
	if p == nil {
		t.Fatal("no Pod ssebench-results")
	}
	if got := mountOf(p.Spec, container(t, p.Spec, "ssebench-results"), "ssebench-results", ""); got != m {
		t.Errorf("the results pod mounts the volume at %q, the merge at %q", got, m)
	}
}

// TestEveryContainerIsBounded: every container states its memory limit
// and requests, runs as non-root without privilege escalation.
func TestEveryContainerIsBounded(t *testing.T) {
	o := loadAll(t)
	specs := map[string]corev1.PodSpec{}
	for n, j := range o.jobs {
		specs["Job "+n] = j.Spec.Template.Spec
	}
	for n, d := range o.deployments {
		specs["Deployment "+n] = d.Spec.Template.Spec
	}
	for n, p := range o.pods {
		specs["Pod "+n] = p.Spec
	}
	if len(specs) != 4 {
		t.Errorf("%d pod specs, want 4 (two Jobs, the mock, the results pod)", len(specs))
	}
	for what, s := range specs {
		for _, c := range s.Containers {
			if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Memory().IsZero() {
				t.Errorf("%s, container %s: no memory request or limit", what, c.Name)
			}
			if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				t.Errorf("%s, container %s: privilege escalation allowed", what, c.Name)
			}
		}
		if s.SecurityContext == nil || s.SecurityContext.RunAsNonRoot == nil || !*s.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: may run as root", what)
		}
	}
}

// TestDocListsEveryFile: the package doc names every manifest.
func TestDocListsEveryFile(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(Manifests, "*.yaml")
	for _, n := range append(names, "Dockerfile") {
		if !bytes.Contains(doc, []byte(n+":")) {
			t.Errorf("doc.go does not describe %s", n)
		}
	}
}
