// Package imagecheck holds each station image's Dockerfile, read with
// BuildKit's own parser, against the pods the program declares for it under
// mocks (infra's TestExportWorkloads): the final USER is numeric, not root and
// the pod's runAsUser; every port a probe or a Service reaches is EXPOSEd and
// nothing else is; every path the image writes (WRITES beside the Dockerfile)
// is a mount when the root file system is read-only; no ENV or ARG carries a
// secret; every base image is an exact version. Its own module, so BuildKit's
// dependencies never enter the program's go.mod.
package imagecheck
