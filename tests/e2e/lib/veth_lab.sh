# veth_lab.sh -- two network namespaces joined by a veth pair, for live
# capture tests and the capture benchmark: namespace $LAB_A holds
# 10.231.0.1 on $LAB_VA, namespace $LAB_B holds 10.231.0.2-11 on $LAB_VB
# ($LAB_SRCS lists them for udpgen). Nothing leaves the two namespaces.
#   . tests/e2e/lib/veth_lab.sh; veth_lab_up || skip ...; ...; veth_lab_down
LAB_A=njlaba$$ LAB_B=njlabb$$ LAB_VA=vlaba$$ LAB_VB=vlabb$$ LAB_SRCS=""

veth_lab_up() {
    ip netns add "$LAB_A" 2>/dev/null || return 1
    ip netns add "$LAB_B" || return 1
    ip link add "$LAB_VA" type veth peer name "$LAB_VB" || return 1
    ip link set "$LAB_VA" netns "$LAB_A" && ip link set "$LAB_VB" netns "$LAB_B" || return 1
    ip -n "$LAB_A" addr add 10.231.0.1/24 dev "$LAB_VA"
    ip -n "$LAB_A" link set "$LAB_VA" up && ip -n "$LAB_A" link set lo up || return 1
    LAB_SRCS=""
    for k in 2 3 4 5 6 7 8 9 10 11; do
        ip -n "$LAB_B" addr add "10.231.0.$k/24" dev "$LAB_VB" || return 1
        LAB_SRCS="$LAB_SRCS${LAB_SRCS:+,}10.231.0.$k"
    done
    ip -n "$LAB_B" link set "$LAB_VB" up && ip -n "$LAB_B" link set lo up
}

veth_lab_down() {
    ip netns del "$LAB_A" 2>/dev/null
    ip netns del "$LAB_B" 2>/dev/null
    return 0
}
