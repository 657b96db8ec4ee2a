package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	cause := errors.New("stack unreachable")
	for _, tt := range []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, Pass},
		{"untagged", cause, Aborted},
		{"tagged", With(cause, Precondition), Precondition},
		{"wrapped tag", fmt.Errorf("run: %w", With(cause, Precondition)), Precondition},
		{"innermost wins", With(fmt.Errorf("run: %w", With(cause, Precondition)), Usage), Precondition},
		{"first branch of a join", errors.Join(cause, With(cause, Usage), With(cause, Regression)), Usage},
		{"join inside a tag", With(errors.Join(With(cause, Performance), cause), Aborted), Performance},
		{"tag around an untagged join", With(errors.Join(cause, cause), Regression), Regression},
	} {
		if got := Of(tt.err); got != tt.want {
			t.Errorf("Of(%s) = %d; want %d", tt.name, got, tt.want)
		}
	}
	if With(nil, Usage) != nil {
		t.Error("With(nil, Usage) != nil; want nil")
	}
}
