//go:build tools

// Package tools pins the lakeFS commands this module builds, so `go mod tidy` keeps them.
package tools

import (
	_ "github.com/treeverse/lakefs/cmd/lakectl"
	_ "github.com/treeverse/lakefs/cmd/lakefs"
)
