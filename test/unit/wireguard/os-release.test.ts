import {describe, expect, it} from 'vitest'

import {majorVersion, osIsLike, parseOsRelease, unquoteShellValue} from '../../../src/wireguard/index.js'

const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`

const UBUNTU_2404 = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
`

const FEDORA_41 = `NAME="Fedora Linux"
VERSION="41 (Server Edition)"
RELEASE_TYPE=stable
ID=fedora
VERSION_ID=41
VERSION_CODENAME=""
PLATFORM_ID="platform:f41"
PRETTY_NAME="Fedora Linux 41 (Server Edition)"
ANSI_COLOR="0;38;2;60;110;180"
LOGO=fedora-logo-icon
CPE_NAME="cpe:/o:fedoraproject:fedora:41"
HOME_URL="https://fedoraproject.org/"
DOCUMENTATION_URL="https://docs.fedoraproject.org/en-US/fedora/f41/system-administrators-guide/"
SUPPORT_URL="https://ask.fedoraproject.org/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_BUGZILLA_PRODUCT="Fedora"
REDHAT_BUGZILLA_PRODUCT_VERSION=41
REDHAT_SUPPORT_PRODUCT="Fedora"
REDHAT_SUPPORT_PRODUCT_VERSION=41
SUPPORT_END=2025-12-15
VARIANT="Server Edition"
VARIANT_ID=server
`

const ROCKY_9 = `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.4"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
`

const ALMALINUX_8 = `NAME="AlmaLinux"
VERSION="8.10 (Cerulean Leopard)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="8.10"
PLATFORM_ID="platform:el8"
PRETTY_NAME="AlmaLinux 8.10 (Cerulean Leopard)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:8::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"

ALMALINUX_MANTISBT_PROJECT="AlmaLinux-8"
ALMALINUX_MANTISBT_PROJECT_VERSION="8.10"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="8.10"
SUPPORT_END=2029-06-01
`

const CENTOS_STREAM_9 = `NAME="CentOS Stream"
VERSION="9"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="9"
PLATFORM_ID="platform:el9"
PRETTY_NAME="CentOS Stream 9"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:centos:centos:9"
HOME_URL="https://centos.org/"
BUG_REPORT_URL="https://issues.redhat.com/"
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux 9"
REDHAT_SUPPORT_PRODUCT_VERSION="CentOS Stream"
`

const RHEL_8 = `NAME="Red Hat Enterprise Linux"
VERSION="8.10 (Ootpa)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="8.10"
PLATFORM_ID="platform:el8"
PRETTY_NAME="Red Hat Enterprise Linux 8.10 (Ootpa)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:redhat:enterprise_linux:8::baseos"
HOME_URL="https://www.redhat.com/"
DOCUMENTATION_URL="https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/8"
BUG_REPORT_URL="https://issues.redhat.com/"

REDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 8"
REDHAT_BUGZILLA_PRODUCT_VERSION=8.10
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="8.10"
`

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
