import {describe, expect, it} from 'vitest'

import {majorVersion, osIsLike, parseOsRelease, unquoteShellValue} from '../../../src/remote/os-release.js'
import {DEBIAN_12, UBUNTU_2404, FEDORA_41, ROCKY_9, ALMALINUX_8, CENTOS_STREAM_9, RHEL_8} from '../../fixtures/os-release.js'








describe('parseOsRelease on real files', () => {
  it.each([
    ['Debian 12', DEBIAN_12, 'debian', [], '12', 'Debian GNU/Linux 12 (bookworm)', 'bookworm', 12],
    ['Ubuntu 24.04', UBUNTU_2404, 'ubuntu', ['debian'], '24.04', 'Ubuntu 24.04.1 LTS', 'noble', 24],
    ['Fedora 41', FEDORA_41, 'fedora', [], '41', 'Fedora Linux 41 (Server Edition)', undefined, 41],
    ['Rocky 9', ROCKY_9, 'rocky', ['rhel', 'centos', 'fedora'], '9.4', 'Rocky Linux 9.4 (Blue Onyx)', undefined, 9],
    ['AlmaLinux 8', ALMALINUX_8, 'almalinux', ['rhel', 'centos', 'fedora'], '8.10', 'AlmaLinux 8.10 (Cerulean Leopard)', undefined, 8],
    ['CentOS Stream 9', CENTOS_STREAM_9, 'centos', ['rhel', 'fedora'], '9', 'CentOS Stream 9', undefined, 9],
    ['RHEL 8', RHEL_8, 'rhel', ['fedora'], '8.10', 'Red Hat Enterprise Linux 8.10 (Ootpa)', undefined, 8],
  ] as const)('%s', (_label, text, id, idLike, versionId, prettyName, codename, major) => {
    const os = parseOsRelease(text)
    expect(os.id).toBe(id)
    expect(os.idLike).toEqual(idLike)
    expect(os.versionId).toBe(versionId)
    expect(os.prettyName).toBe(prettyName)
    expect(os.versionCodename).toBe(codename)
    expect(majorVersion(os)).toBe(major)
  })

  it('keeps every field, unquoted', () => {
    const fedora = parseOsRelease(FEDORA_41)
    expect(fedora.fields.VARIANT_ID).toBe('server')
    expect(fedora.fields.VERSION_CODENAME).toBe('')
    expect(fedora.fields.ANSI_COLOR).toBe('0;38;2;60;110;180')
    expect(parseOsRelease(RHEL_8).fields.REDHAT_BUGZILLA_PRODUCT).toBe('Red Hat Enterprise Linux 8')
  })

  it('osIsLike tells the families apart', () => {
    const [debian, ubuntu, fedora, rocky, alma, centos, rhel] = [
      DEBIAN_12, UBUNTU_2404, FEDORA_41, ROCKY_9, ALMALINUX_8, CENTOS_STREAM_9, RHEL_8,
    ].map(parseOsRelease)
    expect([debian, ubuntu].every((os) => osIsLike(os!, 'debian'))).toBe(true)
    expect([rocky, alma, centos, rhel].every((os) => osIsLike(os!, 'rhel'))).toBe(true)
    expect([debian, ubuntu, fedora].some((os) => osIsLike(os!, 'rhel'))).toBe(false)
    expect(osIsLike(fedora!, 'fedora')).toBe(true)
  })
})

describe('parseOsRelease syntax', () => {
  it('handles escapes inside double quotes, single quotes, comments, blank lines, CRLF and a BOM', () => {
    const os = parseOsRelease(
      '\uFEFF# comment\r\n\r\nID=Arch\r\nPRETTY_NAME="Say \\"hi\\" \\$HOME \\`x\\` \\\\ \\n"\r\nNAME=\'It\'"\'"\'s \\ literal\'\r\nVERSION_ID=2024.01\\ b\r\n',
    )
    expect(os.id).toBe('arch')
    expect(os.prettyName).toBe('Say "hi" $HOME `x` \\ \\n')
    expect(os.name).toBe("It's \\ literal")
    expect(os.versionId).toBe('2024.01 b')
  })

  it('ignores lines that are not assignments and never evaluates anything', () => {
    const os = parseOsRelease('export ID=evil\n$(reboot)\nID=debian\nPRETTY_NAME="$(id)"\n')
    expect(os.id).toBe('debian')
    expect(os.prettyName).toBe('$(id)')
  })

  it('applies the os-release defaults', () => {
    expect(parseOsRelease('')).toEqual({id: 'linux', idLike: [], versionId: '', prettyName: 'Linux', name: 'Linux', fields: {}})
  })

  it('a later assignment wins', () => {
    expect(parseOsRelease('ID=a\nID=b\n').id).toBe('b')
  })

  it('unquoteShellValue leaves an unterminated quote as the rest of the value', () => {
    expect(unquoteShellValue('"abc')).toBe('abc')
    expect(unquoteShellValue("'abc")).toBe('abc')
  })
})
