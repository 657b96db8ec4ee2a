// Package deploy holds the container image definition and the Kubernetes manifests
// for distributed runs and scheduled canaries, and the canary's Grafana dashboard
// and Prometheus alerting rules; its test decodes every manifest strictly into the
// Kubernetes API types and checks every metric the dashboard and the rules name
// against what a real canary check serves.
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/run/canary"
	"github.com/cutover-dev/cutover/run/config"
)

// decodeStrict decodes a manifest into the API type of its kind, refusing unknown
// fields, so a typo in a manifest fails here and not at kubectl apply time.
func decodeStrict(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	var head struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(b, &head); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var obj any
	switch head.APIVersion + "/" + head.Kind {
	case "batch/v1/Job":
		obj = &batchv1.Job{}
	case "batch/v1/CronJob":
		obj = &batchv1.CronJob{}
	case "v1/ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1/Secret":
		obj = &corev1.Secret{}
	case "v1/PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	case "v1/Namespace":
		obj = &corev1.Namespace{}
	case "kustomize.config.k8s.io/v1beta1/Kustomization":
		return nil
	default:
		t.Fatalf("%s: no API type for %s %s", name, head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(b, obj); err != nil {
		t.Fatalf("%s: strict decode into %T: %v", name, obj, err)
	}
	return obj
}

func TestManifestsDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) < 6 {
		t.Fatalf("manifests: %v, %d files; want at least 6", err, len(files))
	}
	for _, f := range files {
		decodeStrict(t, filepath.Base(f))
	}
}

// hardened checks what every cutover pod must have: non-root, no privilege
// escalation, a read-only root, all capabilities dropped, CPU and memory limits.
func hardened(t *testing.T, name string, spec corev1.PodSpec) {
	t.Helper()
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: pod does not run as non-root", name)
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: restartPolicy %q; want Never (a rerun is a new rehearsal, not a retry)", name, spec.RestartPolicy)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s/%s: container is not hardened (no escalation, read-only root, drop ALL)", name, c.Name)
		}
		if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: no CPU or memory limit", name, c.Name)
		}
	}
}

func TestSegmentJobCoversEverySegmentOnce(t *testing.T) {
	job := decodeStrict(t, "job.yaml").(*batchv1.Job)
	hardened(t, "job.yaml", job.Spec.Template.Spec)
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("job.yaml: completionMode is not Indexed")
	}
	n := *job.Spec.Completions
	if job.Spec.Parallelism == nil || *job.Spec.Parallelism != n {
		t.Errorf("job.yaml: parallelism != completions (%d): segments would not run at once, so not at the full rate together", n)
	}
	c := job.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	if !strings.Contains(args, fmt.Sprintf("--segment $(SEGMENT_INDEX)/%d", n)) {
		t.Errorf("job.yaml: args %q do not run segment $(SEGMENT_INDEX)/%d", args, n)
	}
	var fromIndex bool
	for _, e := range c.Env {
		if e.Name == "SEGMENT_INDEX" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			fromIndex = true
		}
	}
	if !fromIndex {
		t.Errorf("job.yaml: SEGMENT_INDEX does not come from the completion index")
	}

	merge := decodeStrict(t, "merge-job.yaml").(*batchv1.Job)
	hardened(t, "merge-job.yaml", merge.Spec.Template.Spec)
	margs := merge.Spec.Template.Spec.Containers[0].Args
	for i := range n {
		if !slices.Contains(margs, fmt.Sprintf("/results/segment-%d", i)) {
			t.Errorf("merge-job.yaml: does not merge segment %d of %d", i, n)
		}
	}
	if margs[0] != "merge" {
		t.Errorf("merge-job.yaml: args %v; want the merge command", margs)
	}
}

func TestCanaryCronJob(t *testing.T) {
	cj := decodeStrict(t, "cronjob.yaml").(*batchv1.CronJob)
	hardened(t, "cronjob.yaml", cj.Spec.JobTemplate.Spec.Template.Spec)
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("cronjob.yaml: concurrencyPolicy %q; want Forbid (two canaries at once double the load on production)", cj.Spec.ConcurrencyPolicy)
	}
	if d := cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds; d == nil || *d <= 0 {
		t.Errorf("cronjob.yaml: no activeDeadlineSeconds: a hung canary would never end")
	}
	args := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
	if args[0] != "canary" || !slices.Contains(args, "--once") {
		t.Errorf("cronjob.yaml: args %v; want canary --once", args)
	}
}

func TestConfigMapHoldsAValidRehearsal(t *testing.T) {
	cm := decodeStrict(t, "configmap.yaml").(*corev1.ConfigMap)
	data, ok := cm.Data["rehearsal.yaml"]
	if !ok {
		t.Fatal("configmap.yaml: no rehearsal.yaml")
	}
	cfg, err := config.Parse("configmap.yaml#rehearsal.yaml", []byte(data), func(string) string { return "" })
	if err != nil {
		t.Fatalf("the rehearsal in the ConfigMap is invalid:\n%v", err)
	}
	if cfg.Load.Profile.Rate > cfg.Load.MaxRate {
		t.Errorf("rate %v over ceiling %v", cfg.Load.Profile.Rate, cfg.Load.MaxRate)
	}
	_, ok = cm.Data["canary.yaml"]
	if !ok {
		t.Fatal("configmap.yaml: no canary.yaml")
	}
	// The ConfigMap is mounted at /config: lay its keys out the same way, so the
	// canary's personas.file resolves, with every secret variable set.
	mount := t.TempDir()
	for k, v := range cm.Data {
		if err := os.WriteFile(filepath.Join(mount, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ccfg, err := config.Read(filepath.Join(mount, "canary.yaml"), func(string) string { return "placeholder" })
	if err != nil {
		t.Fatalf("the canary in the ConfigMap is invalid:\n%v", err)
	}
	if pop, ok := ccfg.Personas.Accounts(); !ok || len(pop.Personas) == 0 {
		t.Errorf("the canary imports no accounts: %d", len(pop.Personas))
	}
	if err := canary.Rails(ccfg, canary.DefaultMaxRate, false); err != nil {
		t.Errorf("the canary in the ConfigMap breaks the canary's rails: %v", err)
	}
	secret := decodeStrict(t, "secret.example.yaml").(*corev1.Secret)
	for k, v := range secret.StringData {
		if v != "replace-me" {
			t.Errorf("secret.example.yaml: %s holds a value; the template must only hold placeholders", k)
		}
	}
}

func TestDockerfileBuildsTheCLI(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"./cmd/cutover", "USER 65532", "ENTRYPOINT [\"/usr/local/bin/cutover\"]"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestManifestArgsExistInTheCLI builds the cutover binary and runs every
// container's args from the manifests with --help: an unknown subcommand or flag
// fails (exit 2), so the manifests cannot drift from the CLI.
func TestManifestArgsExistInTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "cutover")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/cutover").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	specs := map[string]corev1.PodSpec{
		"job.yaml":       decodeStrict(t, "job.yaml").(*batchv1.Job).Spec.Template.Spec,
		"merge-job.yaml": decodeStrict(t, "merge-job.yaml").(*batchv1.Job).Spec.Template.Spec,
		"cronjob.yaml":   decodeStrict(t, "cronjob.yaml").(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec,
	}
	for name, spec := range specs {
		for _, c := range spec.Containers {
			out, err := exec.Command(bin, append(slices.Clone(c.Args), "--help")...).CombinedOutput()
			if err != nil {
				t.Errorf("%s/%s: cutover %s --help: %v\n%s", name, c.Name, strings.Join(c.Args, " "), err, out)
			}
		}
	}
}
