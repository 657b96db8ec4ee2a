package config

import (
	"cmp"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// secretRef is one secret reference of the file and the key path it sits at.
type secretRef struct {
	path []string
	ref  *adapter.SecretRef
}

// secretRefs lists every secret reference of the file.
func (f *File) secretRefs() []secretRef {
	var out []secretRef
	walkSecrets(reflect.ValueOf(&f.Stacks).Elem(), []string{"stacks"}, &out)
	return out
}

var secretRefType = reflect.TypeFor[adapter.SecretRef]()

// walkSecrets finds every secret reference under v, wherever a section holds one,
// with its YAML path, so that no reference added to a config type can be missed.
func walkSecrets(v reflect.Value, path []string, out *[]secretRef) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, out)
		}
	case reflect.Struct:
		if v.Type() == secretRefType {
			if r := v.Addr().Interface().(*adapter.SecretRef); r.Env != "" || r.File != "" {
				*out = append(*out, secretRef{slices.Clone(path), r})
			}
			return
		}
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if !sf.IsExported() || name == "-" {
				continue
			}
			if slices.Contains(strings.Split(opts, ","), "inline") {
				walkSecrets(v.Field(i), path, out)
				continue
			}
			walkSecrets(v.Field(i), append(path, cmp.Or(name, strings.ToLower(sf.Name))), out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkSecrets(v.Index(i), append(path, strconv.Itoa(i)), out)
		}
	case reflect.Map:
		// Map values are not addressable: a map holds secret references by
		// pointer (private_keys), found in its keys' order.
		if v.Type().Elem().Kind() != reflect.Pointer {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			walkSecrets(v.MapIndex(k), append(path, k.String()), out)
		}
	}
}

// resolveSecrets resolves every secret reference through env (relative files from
// the folder of the rehearsal file) and reports every failure with its line.
func (f *File) resolveSecrets(env func(string) string) error {
	p := &problems{f: f}
	dir := filepath.Dir(f.Path)
	for _, r := range f.secretRefs() {
		if err := r.ref.Resolve(env, dir); err != nil {
			p.add(r.path, "%v", err)
		}
	}
	return errors.Join(p.errs...)
}

// SecretValues are the values of the file's secret references that could be
// read, for the redactor: a stack that echoes one is caught wherever it does.
func (f *File) SecretValues() []string {
	var out []string
	for _, r := range f.secretRefs() {
		if v := r.ref.Secret().Reveal(); v != "" {
			out = append(out, v)
		}
	}
	return out
}
