#!/usr/bin/env node
/**
 * Re-vendors etcd's v3 API definitions into this folder, with the options that need other repositories' .proto files
 * stripped (grpc-gateway `google.api.http`, openapiv2, and etcd's own `versionpb` annotations): they only drive code
 * generators and the REST gateway, not the wire format, and @grpc/proto-loader cannot load them without those imports.
 * Messages, fields, numbers, enums and services are kept as they are.
 *
 * Usage: node src/etcd/proto/vendor.mjs <etcd checkout> <tag>
 *   (e.g. a clone of https://github.com/etcd-io/etcd; the files are read with `git show <tag>:<path>`)
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const FILES = ['api/etcdserverpb/rpc.proto', 'api/mvccpb/kv.proto', 'api/authpb/auth.proto']
const DROPPED_IMPORTS = [
  'etcd/api/versionpb/version.proto',
  'google/api/annotations.proto',
  'protoc-gen-openapiv2/options/annotations.proto',
]

/** Removes `option (ext) = { ... };` blocks, `option (ext) = "...";` lines and `[(ext)="..."]` field options. */
export function stripOptions(text) {
  let out = ''
  let i = 0
  const blockStart = /option\s*\([^)]*\)\s*=\s*/y
  while (i < text.length) {
    blockStart.lastIndex = i
    const m = blockStart.exec(text)
    if (m !== null) {
      let j = i + m[0].length
      if (text[j] === '{') {
        let depth = 0
        for (; j < text.length; j++) {
          if (text[j] === '{') depth++
          else if (text[j] === '}' && --depth === 0) break
        }
        j++
      } else {
        while (text[j] !== ';') j++
      }
      while (text[j] !== ';') j++
      i = j + 1
      continue
    }
    out += text[i]
    i++
  }
  out = out.replace(/\s*\[\(versionpb\.[a-z_]+\)\s*=\s*"[^"]*"\]/g, '')
  for (const imp of DROPPED_IMPORTS) out = out.replace(`import "${imp}";\n`, '')
  out = out.replace('// for grpc-gateway\n', '')
  // blank lines left by removed blocks
  return out.replace(/\{\s*\n\s*\}/g, '{\n  }').replace(/\n{3,}/g, '\n\n')
}

const [checkout, tag] = process.argv.slice(2)
if (checkout !== undefined && tag !== undefined) {
  const here = dirname(fileURLToPath(import.meta.url))
  const commit = execFileSync('git', ['-C', checkout, 'rev-parse', `${tag}^{commit}`], { encoding: 'utf8' }).trim()
  for (const file of FILES) {
    const text = execFileSync('git', ['-C', checkout, 'show', `${commit}:${file}`], { encoding: 'utf8' })
    const header =
      `// Copyright The etcd Authors. Licensed under the Apache License, Version 2.0 (see LICENSE in this folder).\n` +
      `// Vendored from https://github.com/etcd-io/etcd/blob/${tag}/${file} (commit ${commit})\n` +
      `// by src/etcd/proto/vendor.mjs: code-generator and gateway options stripped; the wire definitions unchanged.\n\n`
    const target = join(here, 'etcd', file)
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, header + stripOptions(text))
  }
  writeFileSync(join(here, 'LICENSE'), execFileSync('git', ['-C', checkout, 'show', `${commit}:LICENSE`]))
  console.log(`vendored ${FILES.length} files from ${tag} (${commit})`)
}
