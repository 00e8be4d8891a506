/*
 * nightjar's default content rules: a small set of well-known, public
 * patterns written for nightjar. They are on by default (yara.rules:
 * default -- the installed copy, or rules/ beside the build); --yara none
 * turns YARA off. Add your own files next to this one or point --yara at
 * your own rule directory. Executables in transit are not a rule here: the
 * delivery detector judges them with their context (docs/detection.md).
 *
 * Meta that nightjar reads: description (appended to the alert signature),
 * category, severity (1 high .. 4 low, default 2), sid (signature_id;
 * otherwise one is derived from the rule name). Every meta and tag is also
 * copied into the alert's metadata.
 */

rule EICAR_Test_File : test
{
    meta:
        description = "EICAR anti-virus test file"
        category = "Test file"
        severity = 3
        sid = 9100001
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar
}

rule Mimikatz_Strings : hacktool credential_access
{
    meta:
        description = "Mimikatz credential dumper (module and author strings)"
        category = "Credential theft tool"
        severity = 1
        sid = 9100002
    strings:
        $a = "sekurlsa::logonpasswords" ascii wide nocase
        $b = "gentilkiwi" ascii wide
        $c = "lsadump::sam" ascii wide nocase
        $d = "mimikatz" ascii wide nocase
    condition:
        2 of them
}

rule PowerShell_Download_Cradle : execution
{
    meta:
        description = "PowerShell that downloads and runs code, or runs an encoded command"
        category = "Suspicious script"
        severity = 2
        sid = 9100003
    strings:
        $ps = "powershell" ascii wide nocase
        $dl1 = "DownloadString(" ascii wide nocase
        $dl2 = "DownloadData(" ascii wide nocase
        $iex1 = "IEX" ascii wide
        $iex2 = "Invoke-Expression" ascii wide nocase
        $enc = /-enc(odedcommand)? +[A-Za-z0-9+\/]{40}/ nocase
    condition:
        ($ps and $enc) or (($dl1 or $dl2) and ($iex1 or $iex2))
}

rule China_Chopper_Webshell : webshell
{
    meta:
        description = "China Chopper one-line web shell"
        category = "Web shell"
        severity = 1
        sid = 9100004
    strings:
        $aspx = /<%@\s*Page\s+Language="Jscript"\s*%>\s*<%\s*eval\(Request\.Item\[/ nocase
        $php = /<\?php\s+@?eval\(\$_POST\[/ nocase
    condition:
        any of them
}

rule Office_Macro_AutoExec_Shell : maldoc
{
    meta:
        description = "Office VBA macro that runs at open and starts a shell"
        category = "Malicious document"
        severity = 2
        sid = 9100005
    strings:
        $auto1 = "AutoOpen" ascii nocase
        $auto2 = "Document_Open" ascii nocase
        $auto3 = "Workbook_Open" ascii nocase
        $shell1 = "WScript.Shell" ascii nocase
        $shell2 = "Shell(" ascii nocase
        $shell3 = "CreateObject(\"Shell.Application\")" ascii nocase
    condition:
        any of ($auto*) and any of ($shell*)
}
